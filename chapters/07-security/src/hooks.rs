//! The bridge to chapter 02: restrictions applied in `before_exec`, the
//! device cgroup joined in `child_created` — around any other hooks.

use crate::error::SecurityError;
use crate::restrictions::Restrictions;
use ch01_chroot::Narrator;
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::devices::DeviceCgroup;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

// ANCHOR: hooks
/// Chapter 02's hooks, restricted: every inner hook runs first, then ours.
#[derive(Debug)]
pub struct Restricted<'a, H: Hooks> {
    pub inner: H,
    pub restrictions: &'a Restrictions,
    /// Joined while the child waits at the gate, like chapter 03's cgroup.
    pub devices: Option<&'a DeviceCgroup>,
    pub narrator: &'a Narrator,
}

impl<H: Hooks> Hooks for Restricted<'_, H> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.inner.child_created(pid)?;
        if let Some(devices) = self.devices {
            devices
                .join(pid)
                .map_err(|e| HookError::new("joining the device cgroup", None, e.to_string()))?;
        }
        Ok(())
    }

    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        self.inner.prepare_rootfs(rootfs)
    }

    fn command_ready(&mut self, init: Pid) -> Result<(), HookError> {
        self.inner.command_ready(init)
    }

    fn before_exec(&self) -> Result<(), HookError> {
        self.inner.before_exec()?;
        self.restrictions.apply(self.narrator).map_err(hook_error)
    }
}
// ANCHOR_END: hooks

/// A restriction that failed in the child, as chapter 02's hook error.
pub fn hook_error(err: SecurityError) -> HookError {
    match err {
        SecurityError::Apply { step, errno, hint } => HookError::new(step, Some(errno), hint),
        other => HookError::new("applying the restrictions", None, other.to_string()),
    }
}
