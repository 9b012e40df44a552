//! /dev: a small tmpfs with only the devices a process expects.
//!
//! The host's /dev holds disks, /dev/mem, /dev/kmsg… none of which a
//! container should touch. So /dev is a fresh tmpfs holding six character
//! devices, a private devpts for terminals, /dev/shm, /dev/mqueue, and the
//! /dev/fd links programs rely on.

use crate::inroot::Dir;
use crate::mount::{mount_on, mount_point, reopen_mounted, CreatedMountPoints, MountFailure};
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{fchmodat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::sys::statfs::{fstatfs, TMPFS_MAGIC};
use nix::unistd::symlinkat;

/// The standard character devices: name, major, minor (see devices.txt in the kernel).
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The symlinks every Linux /dev has: name, target.
const LINKS: [(&str, &str); 5] = [
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

fn failed(what: impl Into<String>) -> impl FnOnce(Errno) -> MountFailure {
    let what = what.into();
    move |errno| (what, errno)
}

/// How the device nodes were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceNodes {
    /// mknod(2): we are real root.
    Created,
    /// Bind-mounted from the host's /dev: inside a user namespace mknod is
    /// refused, since a device node would bypass every permission check.
    BoundFromHost,
}

/// What /dev ended up with, for the narration.
#[derive(Debug, Clone, Copy)]
pub struct DevReport {
    pub nodes: DeviceNodes,
    pub mqueue: bool,
}

// ANCHOR: dev
/// Builds /dev in the new root.
pub fn populate_dev(
    root: &Dir,
    in_user_ns: bool,
    own_ipc: bool,
    devpts_gid: Option<u32>,
    created: &mut CreatedMountPoints,
) -> Result<DevReport, MountFailure> {
    let dev = mount_dev_tmpfs(root, created)?;
    // From here on every name is resolved in `dev`, a tmpfs we mounted a
    // moment ago in our own mount namespace: no other process — not the
    // host's users, not another container sharing the rootfs — can see it,
    // so nothing can swap a name in it. That is why plain mknodat and
    // symlinkat relative to its fd are safe.
    let nodes = if in_user_ns {
        for (name, _, _) in DEVICES {
            bind_host_device(&dev, name)?;
        }
        DeviceNodes::BoundFromHost
    } else {
        for (name, major, minor) in DEVICES {
            // mknod(2): a character device is just a (major, minor) pair on disk.
            let mode = Mode::from_bits_truncate(0o666);
            mknodat(dev.fd(), name, SFlag::S_IFCHR, mode, makedev(major, minor))
                .map_err(failed(format!("mknod /dev/{name}")))?;
            // mknod applied our umask; everyone may use these six.
            fchmodat(dev.fd(), name, mode, FchmodatFlags::FollowSymlink)
                .map_err(failed(format!("chmod /dev/{name}")))?;
        }
        DeviceNodes::Created
    };
    let mqueue = mount_dev_filesystems(&dev, own_ipc, devpts_gid)?;
    for (link, points_to) in LINKS {
        symlinkat(points_to, dev.fd(), link).map_err(failed(format!("symlink /dev/{link}")))?;
    }
    Ok(DevReport { nodes, mqueue })
}
// ANCHOR_END: dev

// ANCHOR: dev_tmpfs
/// Mounts a tmpfs on the rootfs's /dev and returns the tmpfs itself.
fn mount_dev_tmpfs(root: &Dir, created: &mut CreatedMountPoints) -> Result<Dir, MountFailure> {
    let beneath = mount_point(root, "dev", "/dev", Some(created))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME;
    mount_on(
        Some("tmpfs"),
        &beneath,
        Some("tmpfs"),
        flags,
        Some("mode=755,size=65536k"),
    )
    .map_err(failed("mount tmpfs on /dev"))?;
    // `beneath` is the rootfs's directory, now under the tmpfs. Reach the
    // tmpfs by name, and make sure it is ours: a tmpfs, on top of the
    // directory we mounted on, and still empty.
    reopen_mounted(root, "dev", "/dev", |dev| {
        dev.dev() != beneath.dev()
            && fstatfs(dev.fd()).is_ok_and(|fs| fs.filesystem_type() == TMPFS_MAGIC)
            && is_empty(dev)
    })
}
// ANCHOR_END: dev_tmpfs

/// True if the directory has no entries besides "." and "..".
fn is_empty(dir: &Dir) -> bool {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(fd) = openat(dir.fd(), ".", flags, Mode::empty()) else {
        return false;
    };
    let Ok(mut entries) = nix::dir::Dir::from_fd(fd) else {
        return false;
    };
    let empty = entries
        .iter()
        .all(|entry| entry.is_ok_and(|e| matches!(e.file_name().to_bytes(), b"." | b"..")));
    empty
}

/// devpts, /dev/shm and (with our own IPC namespace) /dev/mqueue; returns
/// whether mqueue was mounted.
fn mount_dev_filesystems(
    dev: &Dir,
    own_ipc: bool,
    devpts_gid: Option<u32>,
) -> Result<bool, MountFailure> {
    // A private devpts instance: the container sees its own terminals, not the host's.
    let pts = mount_point(dev, "pts", "/dev/pts", None)?;
    let mut options = String::from("newinstance,ptmxmode=0666,mode=0620");
    if let Some(gid) = devpts_gid {
        options.push_str(&format!(",gid={gid}"));
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    mount_on(Some("devpts"), &pts, Some("devpts"), flags, Some(&options))
        .map_err(failed("mount devpts on /dev/pts"))?;

    let shm = mount_point(dev, "shm", "/dev/shm", None)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount_on(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        flags,
        Some("mode=1777,size=65536k"),
    )
    .map_err(failed("mount tmpfs on /dev/shm"))?;

    // mqueue shows the message queues of the mounter's IPC namespace: without
    // our own, it would show (and let us delete) the host's.
    if own_ipc {
        let target = mount_point(dev, "mqueue", "/dev/mqueue", None)?;
        mount_on(Some("mqueue"), &target, Some("mqueue"), flags, None)
            .map_err(failed("mount mqueue on /dev/mqueue"))?;
    }
    Ok(own_ipc)
}

/// A bind mount needs a file to land on: create an empty one, bind the
/// host's node onto that very file (through its fd).
fn bind_host_device(dev: &Dir, name: &str) -> Result<(), MountFailure> {
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let target = openat(dev.fd(), name, flags, Mode::empty())
        .map_err(failed(format!("create /dev/{name}")))?;
    let source = format!("/dev/{name}");
    let target = crate::inroot::proc_fd_path(std::os::fd::AsFd::as_fd(&target));
    nix::mount::mount(
        Some(source.as_str()),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(failed(format!("bind the host's /dev/{name}")))
}
