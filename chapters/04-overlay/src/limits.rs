//! Chapter 03's limits on chapter 04's containers: one cgroup per container.
//!
//! Nothing here touches a cgroup file: chapter 03's library makes the
//! cgroup, joins it, reads its counters and removes it. This module only
//! plugs it in — the join into chapter 02's `child_created`, next to the
//! signal forwarding the overlay binary already does there — and reads the
//! verdict when the container has ended.

use crate::forward::ForwardSignals;
use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::{Cgroup, CgroupError, JoinCgroup, OomVerdict};
use nix::unistd::Pid;

// ANCHOR: join_and_forward
/// Two things want the container's init while it waits at the gate: chapter
/// 03 puts it in its cgroup, and the supervisor starts forwarding Ctrl-C and
/// `kill` to it. One `child_created` runs both, in that order.
#[derive(Debug)]
pub struct JoinAndForward<'a> {
    join: Option<JoinCgroup<'a>>,
    forward: ForwardSignals,
}

impl<'a> JoinAndForward<'a> {
    /// `cgroup`: the container's cgroup, or `None` when no limit was asked for.
    pub fn new(cgroup: Option<&'a Cgroup>) -> Self {
        JoinAndForward {
            join: cgroup.map(|cgroup| JoinCgroup { cgroup }),
            forward: ForwardSignals,
        }
    }
}

impl Hooks for JoinAndForward<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        // The cgroup first: the command must never run outside its limits,
        // and if joining fails chapter 02 kills the child — nothing to forward to.
        if let Some(join) = self.join.as_mut() {
            join.child_created(pid)?;
        }
        self.forward.child_created(pid)
    }
}
// ANCHOR_END: join_and_forward

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
