//! Chapter 03, exercise 7: how much memory does a process's cgroup use?
//!
//! `sol-ch03-memory-of PID` finds the PID's memory cgroup with chapter 03's
//! layout detection — v2, v1 or hybrid — and prints its usage.

use anyhow::{bail, Context};
use ch03_cgroups::CgroupLayout;
use std::path::PathBuf;

// ANCHOR: memory_of
/// The directory of `pid`'s memory cgroup and the file that holds its usage.
fn memory_file(pid: u32) -> anyhow::Result<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    // The same parser the engine uses, fed with *that* process's membership.
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .with_context(|| format!("no process {pid}"))?;
    let layout = CgroupLayout::parse(&mountinfo, &membership)?;
    if let Some(v1) = layout.v1_hierarchy("memory") {
        return Ok(v1.own_dir.join("memory.usage_in_bytes"));
    }
    match &layout.v2 {
        Some(v2) if v2.controllers.iter().any(|c| c == "memory") => {
            Ok(v2.own_dir.join("memory.current"))
        }
        _ => bail!(
            "no memory controller on this host (layout: {})",
            layout.kind
        ),
    }
}
// ANCHOR_END: memory_of

fn main() -> anyhow::Result<()> {
    let Some(pid) = std::env::args().nth(1).and_then(|a| a.parse::<u32>().ok()) else {
        bail!("usage: sol-ch03-memory-of PID");
    };
    let file = memory_file(pid)?;
    let bytes =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    println!("{}: {} bytes", file.display(), bytes.trim());
    Ok(())
}
