//! Chapter 03's limits on chapter 04's containers: one cgroup per container.
//!
//! Nothing here touches a cgroup file: chapter 03's library makes the
//! cgroup, joins it, reads its counters and removes it. This module only
//! reads the verdict when the container has ended; the join happens in
//! chapter 02's `child_created` (see `OverlayRootfs::with_cgroup` and
//! `OverlayContainer::start`).

use ch01_chroot::{Exit, Narrator};
use ch03_cgroups::{Cgroup, CgroupError, OomVerdict};

// ANCHOR: verdict
/// After the container ended: reads the counters (they die with the cgroup),
/// says whether the OOM killer struck, and removes the cgroup.
pub fn finish_cgroup(
    cgroup: Cgroup,
    name: &str,
    exit: Exit,
    narrator: &Narrator,
) -> Result<OomVerdict, CgroupError> {
    let stats = cgroup.stats();
    // A SIGKILL looks the same whoever sent it; the cgroup's OOM counter tells.
    let verdict = OomVerdict::from_stats(&stats, exit);
    match verdict {
        OomVerdict::Killed { kills } => narrator.observe(&format!(
            "{name}: OOMKilled — the kernel's OOM killer killed {kills} process(es) in its cgroup"
        )),
        OomVerdict::Likely => narrator.observe(&format!(
            "{name}: OOMKilled (probably: usage hit the limit and the command was SIGKILLed; this kernel has no oom_kill counter)"
        )),
        OomVerdict::None => {}
    }
    for line in stats.report_lines() {
        narrator.step(&format!("{name}: {line}"));
    }
    cgroup.remove()?;
    Ok(verdict)
}
// ANCHOR_END: verdict
