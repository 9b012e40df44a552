//! Keep the runtime's own binary out of the container's reach.
//!
//! A container's init is a clone of the runtime, so until it execs,
//! /proc/1/exe *is* the host's runtime binary, and a root process inside can
//! open it. In CVE-2019-5736 a container replaced its /bin/sh with
//! `#!/proc/self/exe`, waited for `runc exec`, kept a handle on runc's binary
//! and, as soon as runc had exited, overwrote it: the next `docker run` on
//! the host ran the attacker's code as root.
//!
//! The fix: before anything else, re-exec from a view of the binary that no
//! one can ever write, so that from then on /proc/self/exe never leads to a
//! writable file on the host's disk. Two such views, in the order runc ≥ 1.2
//! tries them:
//! - [`overlay`]: a private, read-only overlayfs over the binary's
//!   directory — free (no copy; page cache shared), needs root and Linux ≥ 5.2;
//! - [`memfd`]: a sealed copy in memory — what runc shipped in February
//!   2019, works everywhere, costs one copy of the binary per start.

mod memfd;
mod overlay;

use crate::error::SecurityError;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Set in the environment of the re-exec'd process, so it happens once.
pub const MARKER: &str = "_MINIBOX_SEALED_EXE";

/// `MINIBOX_SEALED_EXE=copy` skips the overlay view and makes the sealed
/// copy: to see it, and to time one against the other.
pub const CHOOSE: &str = "MINIBOX_SEALED_EXE";

/// What we are running from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExeState {
    /// The binary through a private read-only overlayfs (EROFS on any write).
    ReadOnlyOverlay,
    /// A sealed memfd copy (EPERM on any write, forever).
    SealedCopy,
}

impl ExeState {
    /// How it was made, for narration.
    pub fn how(self) -> &'static str {
        match self {
            ExeState::ReadOnlyOverlay => {
                "fsopen(\"overlay\") + fsmount(MOUNT_ATTR_RDONLY) + execveat"
            }
            ExeState::SealedCopy => "memfd_create + F_ADD_SEALS + fexecve",
        }
    }

    /// What a write to /proc/self/exe meets, for people.
    pub fn why_unwritable(self) -> &'static str {
        match self {
            ExeState::ReadOnlyOverlay => "read-only overlay of our binary",
            ExeState::SealedCopy => "sealed memfd copy",
        }
    }
}

// ANCHOR: reexec
/// Call first thing in `main`, while the process is single-threaded. The
/// first time it never returns: it re-executes the same program, with the
/// same arguments, from an unwritable view. In that new image it removes
/// the marker and returns which view it runs from.
pub fn ensure_sealed_exe() -> Result<ExeState, SecurityError> {
    if std::env::var_os(MARKER).is_some() {
        std::env::remove_var(MARKER);
        if let Some(state) = exe_state() {
            return Ok(state);
        }
        // The marker alone proves nothing (anyone can set it): seal again.
    }
    // The free view first; the copy where no overlay can be mounted
    // (no overlayfs, no fsopen, not root, or the binary's filesystem refuses).
    let copy_only = std::env::var_os(CHOOSE).is_some_and(|v| v == "copy");
    let view = if copy_only {
        memfd::sealed_copy()?
    } else {
        overlay::read_only_view().or_else(|_| memfd::sealed_copy())?
    };
    reexec(view)
}
// ANCHOR_END: reexec

// ANCHOR: reexec_exec
/// Executes the file behind `exe` with our arguments and environment plus
/// the marker: an execve of an fd, no path on any disk.
fn reexec(exe: OwnedFd) -> Result<ExeState, SecurityError> {
    let args: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    env.extend(CString::new(format!("{MARKER}=1")).ok());
    // fexecve(3) is execveat(fd, "", …, AT_EMPTY_PATH): it also takes the
    // O_PATH handle the overlay view gives.
    let errno = match nix::unistd::fexecve(exe.as_fd(), &args, &env) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    Err(SecurityError::SealedExe {
        step: "fexecve",
        errno,
    })
}
// ANCHOR_END: reexec_exec

// ANCHOR: exe_state
/// Which unwritable view /proc/self/exe is, if it is one.
pub fn exe_state() -> Option<ExeState> {
    File::open("/proc/self/exe").ok().as_ref().and_then(view_of)
}

/// Which unwritable view an open executable is, if it is one: a memfd with
/// the write seal, or a file on a read-only overlayfs mount.
pub fn view_of(exe: &File) -> Option<ExeState> {
    let seals = fcntl(exe.as_fd(), FcntlArg::F_GET_SEALS).unwrap_or(0);
    if SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE) {
        return Some(ExeState::SealedCopy);
    }
    let fs = nix::sys::statfs::fstatfs(exe.as_fd()).ok()?;
    let on_overlay = fs.filesystem_type() == nix::sys::statfs::OVERLAYFS_SUPER_MAGIC;
    let read_only = nix::sys::statvfs::fstatvfs(exe.as_fd())
        .is_ok_and(|v| v.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    (on_overlay && read_only).then_some(ExeState::ReadOnlyOverlay)
}
// ANCHOR_END: exe_state

/// True if /proc/self/exe is one of the unwritable views.
pub fn exe_is_sealed() -> bool {
    exe_state().is_some()
}
