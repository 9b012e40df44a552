//! Accounting: what the cgroup saw. The kernel counts for every cgroup
//! whether or not a limit is set; reading is just reading files.

use crate::cgroup::{Cgroup, Version};
use crate::files::{read_key, read_number};
use crate::limits::format_bytes;
use std::time::Duration;

/// One reading of the cgroup's counters. `None`: this host does not count it
/// (older kernel, controller not mounted or not enabled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory in use now (page cache included), bytes.
    pub memory_current: Option<u64>,
    /// The most memory ever in use, bytes (v2 `memory.peak` needs Linux 5.19).
    pub memory_peak: Option<u64>,
    pub memory_limit: Option<u64>,
    /// How often usage hit the limit (v2 `memory.events` max, v1 `memory.failcnt`).
    pub memory_limit_hits: Option<u64>,
    /// Processes the OOM killer killed in this cgroup.
    pub oom_kills: Option<u64>,
    /// CPU time used, user + system.
    pub cpu_usage: Option<Duration>,
    /// CFS bandwidth periods that ran, and how many of them hit the quota.
    pub cpu_periods: Option<u64>,
    pub cpu_throttled_periods: Option<u64>,
    /// Total time the cgroup's tasks were held back by the quota.
    pub cpu_throttled: Option<Duration>,
    pub pids_current: Option<u64>,
    pub pids_limit: Option<u64>,
    /// fork()/clone() calls refused because of pids.max.
    pub pids_refused: Option<u64>,
}

/// v1 says "no limit" with a huge number (LONG_MAX rounded to a page).
const V1_UNLIMITED: u64 = 1 << 62;

impl Cgroup {
    // ANCHOR: stats
    // ANCHOR: stats_memory
    /// Reads every counter this host has, from whichever directory holds it.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        if let Some(dir) = self.dir_for("memory") {
            let p = |f: &str| dir.path.join(f);
            match dir.version {
                Version::V2 => {
                    s.memory_current = read_number(&p("memory.current"));
                    s.memory_peak = read_number(&p("memory.peak"));
                    s.memory_limit = read_number(&p("memory.max"));
                    s.memory_limit_hits = read_key(&p("memory.events"), "max");
                    s.oom_kills = read_key(&p("memory.events"), "oom_kill");
                }
                Version::V1 => {
                    s.memory_current = read_number(&p("memory.usage_in_bytes"));
                    s.memory_peak = read_number(&p("memory.max_usage_in_bytes"));
                    s.memory_limit =
                        read_number(&p("memory.limit_in_bytes")).filter(|&l| l < V1_UNLIMITED);
                    // With memsw set to the same limit, the memory+swap
                    // counter may be the one that hits it first.
                    s.memory_limit_hits = match (
                        read_number(&p("memory.failcnt")),
                        read_number(&p("memory.memsw.failcnt")),
                    ) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    // The oom_kill counter arrived in Linux 4.13.
                    s.oom_kills = read_key(&p("memory.oom_control"), "oom_kill");
                }
            }
        }
        // ANCHOR_END: stats_memory
        // ANCHOR: stats_cpu_pids
        if let Some(dir) = self.dir_for("cpuacct") {
            s.cpu_usage = match dir.version {
                Version::V2 => {
                    read_key(&dir.path.join("cpu.stat"), "usage_usec").map(Duration::from_micros)
                }
                Version::V1 => {
                    read_number(&dir.path.join("cpuacct.usage")).map(Duration::from_nanos)
                }
            };
        }
        if let Some(dir) = self.dir_for("cpu") {
            let stat = dir.path.join("cpu.stat");
            s.cpu_periods = read_key(&stat, "nr_periods");
            s.cpu_throttled_periods = read_key(&stat, "nr_throttled");
            s.cpu_throttled = match dir.version {
                Version::V2 => read_key(&stat, "throttled_usec").map(Duration::from_micros),
                Version::V1 => read_key(&stat, "throttled_time").map(Duration::from_nanos),
            };
        }
        if let Some(dir) = self.dir_for("pids") {
            s.pids_current = read_number(&dir.path.join("pids.current"));
            s.pids_limit = read_number(&dir.path.join("pids.max"));
            s.pids_refused = read_key(&dir.path.join("pids.events"), "max");
        }
        s
    }
    // ANCHOR_END: stats_cpu_pids
    // ANCHOR_END: stats
}

impl Stats {
    /// CPU use between two readings `elapsed` apart, in percent of one CPU
    /// (200% = two CPUs busy), as `docker stats` shows it.
    pub fn cpu_percent_since(&self, earlier: &Stats, elapsed: Duration) -> Option<f64> {
        let (now, before) = (self.cpu_usage?, earlier.cpu_usage?);
        if elapsed.is_zero() {
            return None;
        }
        Some(now.saturating_sub(before).as_secs_f64() / elapsed.as_secs_f64() * 100.0)
    }

    /// One `docker stats`-like line: `CPU 49.8%  MEM 1.2MiB / 64.0MiB  PIDS 3 / 32`.
    pub fn live_line(&self, cpu_percent: Option<f64>) -> String {
        let cpu = cpu_percent.map_or("-".to_string(), |p| format!("{p:.1}%"));
        format!(
            "CPU {cpu:>6}   MEM {} / {}   PIDS {} / {}",
            opt_bytes(self.memory_current),
            self.memory_limit.map_or("unlimited".into(), format_bytes),
            opt_num(self.pids_current),
            self.pids_limit.map_or("max".into(), |n| n.to_string()),
        )
    }

    /// The report at exit, one line per resource.
    pub fn report_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        lines.push(format!(
            "memory: peak {}, now {}, limit {}, hit the limit {} times, OOM kills {}",
            opt_bytes(self.memory_peak),
            opt_bytes(self.memory_current),
            self.memory_limit.map_or("none".into(), format_bytes),
            opt_num(self.memory_limit_hits),
            opt_num(self.oom_kills),
        ));
        lines.push(format!(
            "cpu: used {}, throttled {} in {} of {} periods",
            opt_secs(self.cpu_usage),
            opt_secs(self.cpu_throttled),
            opt_num(self.cpu_throttled_periods),
            opt_num(self.cpu_periods),
        ));
        lines.push(format!(
            "pids: now {}, limit {}, forks refused {}",
            opt_num(self.pids_current),
            self.pids_limit.map_or("max".into(), |n| n.to_string()),
            opt_num(self.pids_refused),
        ));
        lines
    }
}

fn opt_bytes(value: Option<u64>) -> String {
    value.map_or("n/a".into(), format_bytes)
}

fn opt_num(value: Option<u64>) -> String {
    value.map_or("n/a".into(), |n| n.to_string())
}

fn opt_secs(value: Option<Duration>) -> String {
    value.map_or("n/a".into(), |d| format!("{:.3}s", d.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_usage_over_wall_time() {
        let before = Stats {
            cpu_usage: Some(Duration::from_millis(100)),
            ..Stats::default()
        };
        let after = Stats {
            cpu_usage: Some(Duration::from_millis(600)),
            ..Stats::default()
        };
        let percent = after
            .cpu_percent_since(&before, Duration::from_secs(1))
            .unwrap_or(0.0);
        assert!((percent - 50.0).abs() < 0.01, "{percent}");
    }

    #[test]
    fn missing_counters_say_n_a_instead_of_zero() {
        let line = Stats::default().report_lines().join("\n");
        assert!(line.contains("peak n/a"), "{line}");
        assert!(line.contains("OOM kills n/a"), "{line}");
    }
}
