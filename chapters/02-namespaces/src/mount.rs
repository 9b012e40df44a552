//! The pseudo-filesystems a root filesystem needs: /proc and /sys.
//!
//! They are mounted into the new root *before* pivot_root, while the host's
//! /proc is still visible in our mount namespace: inside a user namespace the
//! kernel only allows a fresh procfs if a fully visible one already exists
//! ("mount_too_revealing"), and the host's /sys may be needed as a fallback.
//!
//! Every target is a directory opened by fd inside the rootfs (see
//! [`crate::inroot`]), and every mount goes onto `/proc/self/fd/N` of it.

use crate::inroot::Dir;
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode};
use nix::sys::statvfs::{fstatvfs, FsFlags};
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::os::fd::BorrowedFd;
use std::path::Path;

/// A mount step failed: what we tried and the errno.
pub type MountFailure = (String, Errno);

fn failed(what: impl Into<String>) -> impl FnOnce(Errno) -> MountFailure {
    let what = what.into();
    move |errno| (what, errno)
}

/// The mount points the rootfs must offer: created (empty) when missing.
pub const MOUNT_POINTS: [&str; 3] = ["proc", "sys", "dev"];

/// The mount points setup had to create in the rootfs (`proc`, `sys`,
/// `dev`). They stay behind as empty directories after the container ends,
/// unless someone removes them with [`remove_mount_points`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CreatedMountPoints(pub Vec<&'static str>);

impl CreatedMountPoints {
    /// Only the rootfs's own top-level mount points count: what we make
    /// inside our /dev tmpfs disappears with it.
    fn record(&mut self, name: &str) {
        if let Some(known) = MOUNT_POINTS.into_iter().find(|known| *known == name) {
            self.0.push(known);
        }
    }
}

// ANCHOR: mount_point
/// The directory `name` in `parent`, created if missing, opened without
/// following symlinks and checked: a directory on `parent`'s filesystem. A
/// symlink is refused (it could point anywhere on the host); so is a name
/// that another process swapped while we looked (see [`crate::inroot`]).
pub fn mount_point(
    parent: &Dir,
    name: &str,
    shown_as: &str,
    created: Option<&mut CreatedMountPoints>,
) -> Result<Dir, MountFailure> {
    // mkdirat never follows a symlink: an existing one is just EEXIST.
    match mkdirat(parent.fd(), name, Mode::from_bits_truncate(0o755)) {
        Ok(()) => {
            if let Some(created) = created {
                created.record(name);
            }
        }
        Err(Errno::EEXIST) => {}
        Err(errno) => return Err((format!("creating {shown_as} in the rootfs"), errno)),
    }
    let dir = parent
        .open_in(name)
        .map_err(|errno| refused(shown_as, errno))?;
    if dir.dev() != parent.dev() {
        return Err((
            format!("checking {shown_as} in the rootfs (it is on another filesystem: a mount there, or the rootfs changed under us)"),
            Errno::EXDEV,
        ));
    }
    Ok(dir)
}
// ANCHOR_END: mount_point

/// What a failed in-root open means, said once.
pub(crate) fn refused(shown_as: &str, errno: Errno) -> MountFailure {
    let why = match errno {
        Errno::ELOOP => " (it is a symlink, which could lead outside the rootfs)",
        Errno::ENOTDIR => " (it is not a directory)",
        Errno::ENOENT => " (it vanished: the rootfs changed under us)",
        _ => "",
    };
    (format!("opening {shown_as} in the rootfs{why}"), errno)
}

/// mount(2) onto the directory itself, through its /proc/self/fd/N path.
pub fn mount_on(
    source: Option<&str>,
    target: &Dir,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), Errno> {
    mount(source, &target.proc_path(), fstype, flags, data)
}

/// After a mount, our fd still names the directory *beneath* it. To act on
/// the new mount we must open the name again, and check that what we got
/// is what `is_ours` expects: the name may have been swapped meanwhile.
/// (The new mount API's move_mount(2) hands back the mount itself instead.)
pub fn reopen_mounted(
    parent: &Dir,
    name: &str,
    shown_as: &str,
    is_ours: impl FnOnce(&Dir) -> bool,
) -> Result<Dir, MountFailure> {
    let dir = parent
        .open_in(name)
        .map_err(|errno| refused(shown_as, errno))?;
    if !is_ours(&dir) {
        return Err((
            format!("checking {shown_as} after mounting on it (it is not our mount: the rootfs changed under us)"),
            Errno::EXDEV,
        ));
    }
    Ok(dir)
}

// ANCHOR: proc
/// A fresh procfs. procfs shows the PID namespace *of the process that
/// mounts it*: we are PID 1 of the new one, so `ps` inside sees only the
/// container's processes. A user namespace may only mount a procfs for a PID
/// namespace it owns: without --pid we lend it the host's /proc instead.
pub fn mount_proc(
    root: &Dir,
    in_user_ns: bool,
    own_pid: bool,
    created: &mut CreatedMountPoints,
) -> Result<ProcMount, MountFailure> {
    let target = mount_point(root, "proc", "/proc", Some(created))?;
    if in_user_ns && !own_pid {
        // Recursive: the host's /proc may have mounts below it (binfmt_misc),
        // and a user namespace may not uncover what they hide.
        mount_on(
            Some("/proc"),
            &target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(failed("bind the host's /proc on /proc"))?;
        return Ok(ProcMount::HostBound);
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_on(Some("proc"), &target, Some("proc"), flags, None)
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
    root: &Dir,
    in_user_ns: bool,
    own_net: bool,
    created: &mut CreatedMountPoints,
) -> Result<SysMount, MountFailure> {
    let target = mount_point(root, "sys", "/sys", Some(created))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY;
    if !in_user_ns || own_net {
        mount_on(Some("sysfs"), &target, Some("sysfs"), flags, None)
            .map_err(failed("mount sysfs on /sys"))?;
        return Ok(SysMount::Fresh);
    }
    // Recursive: a user namespace may not bind a mount without the mounts
    // below it (that could uncover what they hide).
    let host_sys = Dir::open_host(Path::new("/sys")).map_err(failed("opening the host's /sys"))?;
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount_on(Some("/sys"), &target, None, bind, None)
        .map_err(failed("bind the host's /sys on /sys"))?;
    // The bind's root *is* the host's /sys directory: same device and inode.
    let bound = reopen_mounted(root, "sys", "/sys", |d| d.identity() == host_sys.identity())?;
    remount_readonly(bound.fd()).map_err(failed("remount /sys read-only"))?;
    Ok(SysMount::HostBound)
}
// ANCHOR_END: sys

// ANCHOR: remount_readonly
/// Makes a bind mount read-only. A bind mount ignores MS_RDONLY when it is
/// made; it takes a second, remount call. Inside a user namespace the flags
/// the host set (nosuid, nodev, noexec…) are locked: we must repeat them or
/// the kernel says EPERM. `target` must be the mount's root, opened after
/// the mount was made.
pub fn remount_readonly(target: BorrowedFd<'_>) -> Result<(), Errno> {
    let current = fstatvfs(target)?.flags();
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
    let path = crate::inroot::proc_fd_path(target);
    mount(None::<&str>, &path, None::<&str>, flags, None::<&str>)
}
// ANCHOR_END: remount_readonly

/// Which of [`MOUNT_POINTS`] the rootfs lacks now: the ones a container
/// started on it will create. (Call before starting it; a name that appears
/// meanwhile is simply not removed by [`remove_mount_points`].)
pub fn missing_mount_points(rootfs: &Path) -> Vec<&'static str> {
    let Ok(root) = Dir::open_host(rootfs) else {
        return Vec::new();
    };
    MOUNT_POINTS
        .into_iter()
        .filter(|name| {
            let flags = nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW;
            nix::sys::stat::fstatat(root.fd(), *name, flags) == Err(Errno::ENOENT)
        })
        .collect()
}

/// Removes mount points a container created, once it has ended: rmdir
/// relative to the rootfs fd, which removes only an empty directory and
/// never follows a symlink. Returns the names it could not remove.
pub fn remove_mount_points(rootfs: &Path, names: &[&str]) -> Vec<(String, Errno)> {
    let root = match Dir::open_host(rootfs) {
        Ok(root) => root,
        Err(errno) => return vec![(rootfs.display().to_string(), errno)],
    };
    names
        .iter()
        .filter_map(|name| {
            unlinkat(root.fd(), *name, UnlinkatFlags::RemoveDir)
                .err()
                .map(|errno| (format!("/{name}"), errno))
        })
        .collect()
}
