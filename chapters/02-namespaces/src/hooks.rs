//! Extension points for later chapters.
//!
//! Chapter 03 puts the container into its cgroup while the child still waits
//! at the gate; chapter 04 mounts overlayfs as the new root. Both run at the
//! exact moment the lesson needs, without chapter 02 knowing about them.

use nix::errno::Errno;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// A hook failed: which step, the errno if the kernel said no, and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step}{}: {message}", errno.map(|e| format!(" ({e})")).unwrap_or_default())]
pub struct HookError {
    pub step: String,
    pub errno: Option<Errno>,
    pub message: String,
}

impl HookError {
    pub fn new(step: impl Into<String>, errno: Option<Errno>, message: impl Into<String>) -> Self {
        HookError {
            step: step.into(),
            errno,
            message: message.into(),
        }
    }
}

/// Extension points; every method has a default that does the chapter-02 thing.
pub trait Hooks {
    /// PARENT side, while the child is blocked at the gate: after clone()
    /// created the namespaces and uid_map/gid_map were written, before the
    /// child sets up its root or execs anything. `pid` is the container's init
    /// as seen from the host.
    fn child_created(&mut self, _pid: Pid) -> Result<(), HookError> {
        Ok(())
    }

    /// CHILD side, inside the new mount (and user) namespace after "/" was
    /// made rprivate, before pivot_root. Returns the directory to pivot_root
    /// into, which must be a mount point. Runs in the single-threaded child:
    /// it may allocate, must not spawn threads.
    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        crate::pivot::bind_rootfs_onto_itself(rootfs).map_err(|errno| {
            HookError::new(
                format!("bind-mounting {} onto itself", rootfs.display()),
                Some(errno),
                "is the directory on a filesystem that allows bind mounts?",
            )
        })?;
        Ok(rootfs.to_path_buf())
    }

    /// CHILD side, in the command's own process, inside the finished
    /// container, just before execve. Default: nothing. The chapter's demo
    /// uses it to try chapter 01's chroot escape (and see it fail);
    /// later chapters can drop capabilities or load seccomp filters here.
    fn before_exec(&self) -> Result<(), HookError> {
        Ok(())
    }
}

/// The hooks that change nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}
