//! The report at exit: what the cgroup saw, and whether the OOM killer struck.

use ch01_chroot::{Exit, Narrator};
use ch03_cgroups::{Cgroup, OomVerdict, Stats};
use std::path::Path;
use std::time::Duration;

pub fn print(narrator: &Narrator, exit: Exit, verdict: OomVerdict, stats: &Stats, wall: Duration) {
    match verdict {
        OomVerdict::Killed { kills } => narrator.observe(&format!(
            "OOMKilled: the kernel's OOM killer killed {kills} process(es) in this cgroup; command {exit}"
        )),
        OomVerdict::Likely => narrator.observe(&format!(
            "OOMKilled (probably: usage hit the limit and the command was SIGKILLed; this kernel has no oom_kill counter); command {exit}"
        )),
        OomVerdict::None => narrator.step(&format!("command {exit}")),
    }
    narrator.step(&format!(
        "what the cgroup saw in {:.3}s:",
        wall.as_secs_f64()
    ));
    let silent_failcnt = silent_failcnt(stats);
    for line in stats.report_lines() {
        let line = if silent_failcnt {
            line.replace(", hit the limit 0 times", "")
        } else {
            line
        };
        narrator.step(&format!("  {line}"));
    }
    if silent_failcnt {
        narrator.step(
            "  (no limit-hit count on cgroup v1: with memory+swap capped too, the kernel charges the \
             memsw counter first and does not count its failures — memory.failcnt stays 0; OOM kills tells)",
        );
    }
}

/// v2's `memory.events` `max` always counts when the OOM killer struck; a
/// 0 next to an OOM kill is v1's failcnt, which would mislead if printed.
fn silent_failcnt(stats: &Stats) -> bool {
    stats.memory_limit_hits == Some(0) && stats.oom_kills.unwrap_or(0) > 0
}

pub fn write_json(
    path: &Path,
    cgroup: &Cgroup,
    exit: Exit,
    verdict: OomVerdict,
    stats: &Stats,
    wall: Duration,
) -> std::io::Result<()> {
    let micros = |d: Option<Duration>| d.map(|d| d.as_micros() as u64);
    let report = serde_json::json!({
        "layout": format!("{:?}", cgroup.layout()),
        "cgroup_dirs": cgroup.dirs().iter().map(|d| d.path.display().to_string()).collect::<Vec<_>>(),
        "exit_code": exit.shell_code(),
        "oom_killed": verdict.is_oom(),
        "wall_usec": wall.as_micros() as u64,
        "memory_current_bytes": stats.memory_current,
        "memory_peak_bytes": stats.memory_peak,
        "memory_limit_bytes": stats.memory_limit,
        "memory_limit_hits": stats.memory_limit_hits,
        "oom_kills": stats.oom_kills,
        "cpu_usage_usec": micros(stats.cpu_usage),
        "cpu_periods": stats.cpu_periods,
        "cpu_throttled_periods": stats.cpu_throttled_periods,
        "cpu_throttled_usec": micros(stats.cpu_throttled),
        "pids_current": stats.pids_current,
        "pids_limit": stats.pids_limit,
        "pids_refused": stats.pids_refused,
    });
    std::fs::write(path, format!("{report:#}\n"))
}
