//! The read-only overlay view: runc ≥ 1.2's seal, which copies nothing.
//!
//! An overlayfs with only lower layers refuses every write (EROFS), and one
//! made with the new mount API (fsopen/fsmount, Linux 5.2) is *detached*:
//! it is in no mount table, so nothing can remount it read-write, and it
//! goes away with the last process running from it. We open our binary
//! through it and re-exec: /proc/self/exe is then that file, the same bytes
//! and page cache as the file on disk, but on a mount no one can write.

use crate::error::SecurityError;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

// From <linux/mount.h>.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;

fn fail(step: &'static str) -> impl Fn(Errno) -> SecurityError {
    move |errno| SecurityError::SealedExe { step, errno }
}

/// A syscall that returns a new fd, as an OwnedFd.
fn new_fd(ret: libc::c_long, step: &'static str) -> Result<OwnedFd, SecurityError> {
    if ret < 0 {
        return Err(fail(step)(Errno::last()));
    }
    // Safety: the kernel just returned this fd to us, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

/// `lowerdir` separates layers with ':'; a ':' or '\' in a path is escaped.
fn escape_lowerdir(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in path.as_os_str().as_bytes() {
        if b == b':' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// An empty directory that exists only while the overlay is made.
struct EmptyDir(std::path::PathBuf);

impl EmptyDir {
    fn new() -> Result<EmptyDir, SecurityError> {
        // /run: a tmpfs only root writes, emptied at boot. (overlayfs refuses
        // layers inside one another: for a binary right in /run or / the copy serves.)
        let base = if Path::new("/run").is_dir() {
            std::path::PathBuf::from("/run")
        } else {
            std::env::temp_dir()
        };
        let template = base.join("minibox-seal-XXXXXX");
        let dir = nix::unistd::mkdtemp(&template).map_err(fail("mkdtemp"))?;
        Ok(EmptyDir(dir))
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        // The overlay keeps its own reference to the layer: removing the
        // name does not take the layer away from it.
        let _ = std::fs::remove_dir(&self.0);
    }
}

// ANCHOR: overlay_layers
/// An O_PATH handle on our own binary through a fresh, detached, read-only
/// overlayfs whose top layer is the binary's directory.
pub(super) fn read_only_view() -> Result<OwnedFd, SecurityError> {
    // The real path: overlayfs needs the directory the binary is in.
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| {
        fail("readlink /proc/self/exe")(Errno::from_raw(e.raw_os_error().unwrap_or(0)))
    })?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(fail("readlink /proc/self/exe")(Errno::EINVAL));
    };
    // With no upper layer overlayfs wants two lower ones; the second is
    // empty, so every name resolves in the binary's directory.
    let empty = EmptyDir::new()?;
    let mut lowerdir = escape_lowerdir(dir);
    lowerdir.push(b':');
    lowerdir.extend(escape_lowerdir(&empty.0));
    // ANCHOR_END: overlay_layers
    // ANCHOR: overlay_mount
    // The new mount API: a filesystem context, configured, then made.
    // Safety (fsopen, fsmount): a C string and fds we own.
    let ctx = new_fd(
        unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) },
        "fsopen(\"overlay\")",
    )?;
    fsconfig(&ctx, FSCONFIG_SET_STRING, c"lowerdir", Some(&lowerdir))?;
    // xino would only add kernel log lines when the layers are on
    // different filesystems; we never list directories here.
    let _ = fsconfig(&ctx, FSCONFIG_SET_STRING, c"xino", Some(b"off"));
    fsconfig(&ctx, FSCONFIG_CMD_CREATE, c"", None)?;
    // A mount for the superblock, read-only, attached nowhere.
    let mount = new_fd(
        unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                ctx.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            )
        },
        "fsmount",
    )?;
    drop(empty);
    let view = nix::fcntl::openat(
        mount.as_fd(),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail("open the binary through the overlay"))?;
    same_file_as_us(&view)?;
    Ok(view)
}
// ANCHOR_END: overlay_mount

/// fsconfig(2): one key of the context (`value` None: a command such as CREATE).
fn fsconfig(
    ctx: &OwnedFd,
    command: libc::c_uint,
    key: &CStr,
    value: Option<&[u8]>,
) -> Result<(), SecurityError> {
    let step = "fsconfig of the overlay";
    let value = value
        .map(|v| CString::new(v).map_err(|_| fail(step)(Errno::EINVAL)))
        .transpose()?;
    let key = if key.is_empty() {
        std::ptr::null()
    } else {
        key.as_ptr()
    };
    let value = value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
    // Safety: an fd we own and NUL-terminated strings (or NULL) that outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_fsconfig, ctx.as_raw_fd(), command, key, value, 0) };
    if ret < 0 {
        return Err(fail(step)(Errno::last()));
    }
    Ok(())
}

/// The view must be the program we are running, not a file that has since
/// taken its name (a rebuild while we start): else the sealed copy.
fn same_file_as_us(view: &OwnedFd) -> Result<(), SecurityError> {
    let ours = nix::sys::stat::stat("/proc/self/exe").map_err(fail("stat /proc/self/exe"))?;
    let seen = nix::sys::stat::fstat(view.as_fd()).map_err(fail("stat the overlay view"))?;
    let same = (ours.st_ino, ours.st_size, ours.st_mtime, ours.st_mtime_nsec)
        == (seen.st_ino, seen.st_size, seen.st_mtime, seen.st_mtime_nsec);
    if same {
        Ok(())
    } else {
        Err(fail("compare the overlay view with /proc/self/exe")(
            Errno::ESTALE,
        ))
    }
}
