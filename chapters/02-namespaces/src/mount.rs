//! The pseudo-filesystems a root filesystem needs: /proc and /sys.
//!
//! They are mounted into the new root *before* pivot_root, while the host's
//! /proc is still visible in our mount namespace: inside a user namespace the
//! kernel only allows a fresh procfs if a fully visible one already exists
//! ("mount_too_revealing"), and the host's /sys may be needed as a fallback.

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use std::path::Path;

/// A mount step failed: what we tried and the errno.
pub type MountFailure = (String, Errno);

fn failed(what: impl Into<String>) -> impl FnOnce(Errno) -> MountFailure {
    let what = what.into();
    move |errno| (what, errno)
}

/// Refuses a mount target that is a symlink: an image could point /proc at
/// /etc and make us mount over something else.
pub fn ensure_directory(path: &Path) -> Result<(), MountFailure> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_dir() => Ok(()),
        Ok(_) => Err((
            format!("{} is not a directory (a symlink?)", path.display()),
            Errno::ENOTDIR,
        )),
        Err(_) => std::fs::create_dir(path).map_err(|e| {
            (
                format!("creating {}", path.display()),
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        }),
    }
}

// ANCHOR: proc
/// A fresh procfs. procfs shows the PID namespace *of the process that
/// mounts it*: we are PID 1 of the new one, so `ps` inside sees only the
/// container's processes. A user namespace may only mount a procfs for a PID
/// namespace it owns: without --pid we lend it the host's /proc instead.
pub fn mount_proc(
    new_root: &Path,
    in_user_ns: bool,
    own_pid: bool,
) -> Result<ProcMount, MountFailure> {
    let target = new_root.join("proc");
    ensure_directory(&target)?;
    if in_user_ns && !own_pid {
        // Recursive: the host's /proc may have mounts below it (binfmt_misc),
        // and a user namespace may not uncover what they hide.
        mount(
            Some("/proc"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(failed("bind the host's /proc on /proc"))?;
        return Ok(ProcMount::HostBound);
    }
    mount(
        Some("proc"),
        &target,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(failed("mount proc on /proc"))?;
    Ok(ProcMount::Fresh)
}
// ANCHOR_END: proc

/// How /proc ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcMount {
    /// A fresh procfs of our PID namespace.
    Fresh,
    /// The host's /proc (user namespace without a PID namespace).
    HostBound,
}

/// How /sys ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysMount {
    /// A fresh sysfs, read-only.
    Fresh,
    /// The host's /sys bound read-only (user namespace without a net namespace).
    HostBound,
}

// ANCHOR: sys
/// sysfs, read-only. A fresh sysfs shows the network devices of the mounter's
/// net namespace, so the kernel refuses it to a user namespace that does not
/// own its net namespace; then we bind the host's /sys read-only instead.
pub fn mount_sys(
    new_root: &Path,
    in_user_ns: bool,
    own_net: bool,
) -> Result<SysMount, MountFailure> {
    let target = new_root.join("sys");
    ensure_directory(&target)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY;
    if !in_user_ns || own_net {
        mount(Some("sysfs"), &target, Some("sysfs"), flags, None::<&str>)
            .map_err(failed("mount sysfs on /sys"))?;
        return Ok(SysMount::Fresh);
    }
    // Recursive: a user namespace may not bind a mount without the mounts
    // below it (that could uncover what they hide).
    mount(
        Some("/sys"),
        &target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(failed("bind the host's /sys on /sys"))?;
    remount_readonly(&target).map_err(failed("remount /sys read-only"))?;
    Ok(SysMount::HostBound)
}
// ANCHOR_END: sys

// ANCHOR: remount_readonly
/// Makes a bind mount read-only. A bind mount ignores MS_RDONLY when it is
/// made; it takes a second, remount call. Inside a user namespace the flags
/// the host set (nosuid, nodev, noexec…) are locked: we must repeat them or
/// the kernel says EPERM.
pub fn remount_readonly(target: &Path) -> Result<(), Errno> {
    let current = statvfs(target)?.flags();
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    for (has, keep) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(has) {
            flags |= keep;
        }
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
}
// ANCHOR_END: remount_readonly
