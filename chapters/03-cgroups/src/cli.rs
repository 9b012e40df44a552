//! The limit flags, shared by every binary that runs containers in cgroups
//! (chapter 03's demo, chapter 04's, and later the engine).

use crate::limits::{parse_size, Limits};

/// `--memory --cpus --pids --cpu-weight --cgroup-parent`, flattened into a
/// binary's clap arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitFlags {
    /// Memory limit per container, swap included, e.g. 64M or 1G. Beyond it: the OOM killer.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_flag)]
    pub memory: Option<u64>,
    /// CPU bandwidth per container, in CPUs (0.5 = half a CPU). Beyond it: throttling.
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,
    /// The most processes and threads per container. Beyond it: fork() fails.
    #[arg(long, value_name = "N")]
    pub pids: Option<u64>,
    /// CPU weight under contention, 1–10000 (default 100; v1 gets cpu.shares).
    #[arg(long, value_name = "N")]
    pub cpu_weight: Option<u64>,
    /// Where the cgroups go: `/path` from the hierarchy's root, `path` from our
    /// own cgroup (default: `minibox` on v1, `/minibox` on v2).
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<String>,
}

impl LimitFlags {
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory,
            cpus: self.cpus,
            cpu_weight: self.cpu_weight,
            pids: self.pids,
        }
    }
}

/// `64M` → bytes, with the library's error message for clap to show.
fn parse_size_flag(text: &str) -> Result<u64, String> {
    parse_size(text).map_err(|e| e.to_string())
}
