//! The bridge to chapter 02: join the cgroup while the container's init
//! waits at the gate, before it execs anything — so the command never runs
//! a single instruction outside its limits.

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use ch02_namespaces::{HookError, Hooks};
use nix::unistd::Pid;

// ANCHOR: hook
/// Chapter 02's [`Hooks::child_created`], filled in: write the PID into
/// cgroup.procs. Everything the init forks later is born in the cgroup.
#[derive(Debug)]
pub struct JoinCgroup<'a> {
    pub cgroup: &'a Cgroup,
}

impl Hooks for JoinCgroup<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.cgroup.join(pid).map_err(hook_error)
    }
}
// ANCHOR_END: hook

/// A cgroup error, as chapter 02's hook error.
pub fn hook_error(err: CgroupError) -> HookError {
    let errno = match &err {
        CgroupError::Write { source, .. } | CgroupError::Create { source, .. } => {
            source.raw_os_error().map(nix::errno::Errno::from_raw)
        }
        _ => None,
    };
    HookError::new("joining the container's cgroup", errno, err.to_string())
}
