//! Extension points for later chapters.
//!
//! Chapter 03 puts the container into its cgroup while the child still waits
//! at the gate; chapter 04 mounts overlayfs as the new root. Both run at the
//! exact moment the lesson needs, without chapter 02 knowing about them.

use nix::errno::Errno;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

// ANCHOR: hook_error
// ANCHOR: hook_error_type
/// A hook failed: which step, the errno if the kernel said no, and what to do.
/// Reads "STEP failed: ERRNO — MESSAGE": what failed, then what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step} failed: {}{message}", errno.map(|e| format!("{e} — ")).unwrap_or_default())]
pub struct HookError {
    /// What was being done, e.g. "mounting the overlay on /x".
    pub step: String,
    pub errno: Option<Errno>,
    /// What to do about it.
    pub message: String,
}

// ANCHOR_END: hook_error_type
/// Chapter 01's report pipe carries one string and an errno. A child-side
/// hook's failure travels as "STEP<US>MESSAGE" (the ASCII unit separator,
/// which no step name contains) with errno 0 for "the kernel said nothing".
const HOOK_FIELD_SEPARATOR: char = '\u{1f}';

impl HookError {
    pub fn new(step: impl Into<String>, errno: Option<Errno>, message: impl Into<String>) -> Self {
        HookError {
            step: step.into(),
            errno,
            message: message.into(),
        }
    }

    /// The child's side: what to write into the report pipe.
    pub(crate) fn to_report(&self) -> (String, Errno) {
        (
            format!("{}{HOOK_FIELD_SEPARATOR}{}", self.step, self.message),
            self.errno.unwrap_or(Errno::UnknownErrno),
        )
    }

    /// The parent's side: a hook's failure back from the report pipe, or
    /// `None` if the child failed in one of chapter 02's own steps.
    pub(crate) fn from_report(step: &str, errno: Errno) -> Option<HookError> {
        let (step, message) = step.split_once(HOOK_FIELD_SEPARATOR)?;
        let errno = (errno != Errno::UnknownErrno).then_some(errno);
        Some(HookError::new(step, errno, message))
    }
}
// ANCHOR_END: hook_error

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
        bind_rootfs(rootfs)
    }

    /// PARENT side, once the command's process is set up completely inside
    /// the container — namespaces made, root pivoted, hostname, environment
    /// and working directory set — and waits just before `before_exec` and
    /// execve. Called only when the spec asks for it
    /// ([`crate::ContainerSpec::hold_before_exec`]); the command goes on when
    /// this returns, and an error stops the container. `init` is the
    /// container's init as a host PID; the command is its only child (or
    /// `init` itself when the spec runs no init).
    fn command_ready(&mut self, _init: Pid) -> Result<(), HookError> {
        Ok(())
    }

    /// CHILD side, in the command's own process, inside the finished
    /// container, just before execve. Default: nothing. The chapter's demo
    /// uses it to try chapter 01's chroot escape (and see it fail);
    /// later chapters can drop capabilities or load seccomp filters here.
    fn before_exec(&self) -> Result<(), HookError> {
        Ok(())
    }
}

// ANCHOR: bind_rootfs
/// Set when [`bind_rootfs`] bind-mounted the rootfs, so the child narrates
/// what really happened: a caller's `prepare_rootfs` may mount something
/// else entirely (chapter 04: overlayfs). The child is a clone without
/// CLONE_VM, so this flag is its own copy; the parent's never changes.
static ROOTFS_BIND_MOUNTED: AtomicBool = AtomicBool::new(false);

/// The default [`Hooks::prepare_rootfs`]: bind-mount `rootfs` onto itself
/// (pivot_root needs a mount point) and return it. A custom hook may call it
/// too, e.g. to bind the rootfs before mounting more on top.
pub fn bind_rootfs(rootfs: &Path) -> Result<PathBuf, HookError> {
    crate::pivot::bind_rootfs_onto_itself(rootfs).map_err(|errno| {
        HookError::new(
            format!("bind-mounting {} onto itself", rootfs.display()),
            Some(errno),
            "--rootfs must be a directory on a filesystem that allows bind mounts (not /proc or /sys)",
        )
    })?;
    ROOTFS_BIND_MOUNTED.store(true, Ordering::Relaxed);
    Ok(rootfs.to_path_buf())
}

/// Whether [`bind_rootfs`] ran since the last call; resets the flag.
pub(crate) fn take_rootfs_bind_mounted() -> bool {
    ROOTFS_BIND_MOUNTED.swap(false, Ordering::Relaxed)
}
// ANCHOR_END: bind_rootfs

/// The hooks that change nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}
