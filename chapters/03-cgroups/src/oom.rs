//! Was it the OOM killer? A process killed by SIGKILL looks the same to its
//! parent whoever sent the signal; only the cgroup's counters tell them apart.
//! Docker reports `OOMKilled: true` from the same counters.

use crate::stats::Stats;
use ch01_chroot::Exit;
use nix::sys::signal::Signal;

/// What the OOM counters say about a container that has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomVerdict {
    /// No OOM kill in this cgroup.
    None,
    /// The kernel's OOM killer killed `kills` processes in this cgroup.
    Killed { kills: u64 },
    /// No oom_kill counter here (v1 before Linux 4.13), but the command died
    /// of SIGKILL after usage hit the limit: almost certainly the OOM killer.
    Likely,
}

// ANCHOR: oom
impl OomVerdict {
    /// Reads the verdict from the counters and how the command ended.
    pub fn from_stats(stats: &Stats, exit: Exit) -> OomVerdict {
        match stats.oom_kills {
            Some(0) => OomVerdict::None,
            Some(kills) => OomVerdict::Killed { kills },
            None => {
                let hit_limit = stats.memory_limit_hits.unwrap_or(0) > 0;
                if hit_limit && exit == Exit::Signal(Signal::SIGKILL) {
                    OomVerdict::Likely
                } else {
                    OomVerdict::None
                }
            }
        }
    }
}
// ANCHOR_END: oom

impl OomVerdict {
    pub fn is_oom(self) -> bool {
        self != OomVerdict::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_decides_not_the_signal() {
        let killed = Stats {
            oom_kills: Some(1),
            ..Stats::default()
        };
        assert_eq!(
            OomVerdict::from_stats(&killed, Exit::Code(1)),
            OomVerdict::Killed { kills: 1 }
        );
        let clean = Stats {
            oom_kills: Some(0),
            memory_limit_hits: Some(5),
            ..Stats::default()
        };
        assert_eq!(
            OomVerdict::from_stats(&clean, Exit::Signal(Signal::SIGKILL)),
            OomVerdict::None,
            "a SIGKILL from someone else is not an OOM kill"
        );
        let old_kernel = Stats {
            memory_limit_hits: Some(3),
            ..Stats::default()
        };
        assert_eq!(
            OomVerdict::from_stats(&old_kernel, Exit::Signal(Signal::SIGKILL)),
            OomVerdict::Likely
        );
    }
}
