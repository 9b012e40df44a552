//! /dev: a small tmpfs with only the devices a process expects.
//!
//! The host's /dev holds disks, /dev/mem, /dev/kmsg… none of which a
//! container should touch. So /dev is a fresh tmpfs holding six character
//! devices, a private devpts for terminals, /dev/shm, /dev/mqueue, and the
//! /dev/fd links programs rely on.

use crate::mount::{ensure_directory, MountFailure};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use std::path::Path;

/// The standard character devices: name, major, minor (see devices.txt in the kernel).
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

fn failed(what: impl Into<String>) -> impl FnOnce(Errno) -> MountFailure {
    let what = what.into();
    move |errno| (what, errno)
}

fn io_failed(what: String) -> impl FnOnce(std::io::Error) -> MountFailure {
    move |e| (what, Errno::from_raw(e.raw_os_error().unwrap_or(0)))
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
/// Builds /dev in `new_root`.
pub fn populate_dev(
    new_root: &Path,
    in_user_ns: bool,
    own_ipc: bool,
    devpts_gid: Option<u32>,
) -> Result<DevReport, MountFailure> {
    let dev = new_root.join("dev");
    ensure_directory(&dev)?;
    mount(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(failed("mount tmpfs on /dev"))?;

    let nodes = if in_user_ns {
        for (name, _, _) in DEVICES {
            bind_host_device(&dev, name)?;
        }
        DeviceNodes::BoundFromHost
    } else {
        for (name, major, minor) in DEVICES {
            // mknod(2): a character device is just a (major, minor) pair on disk.
            mknod(
                &dev.join(name),
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o666),
                makedev(major, minor),
            )
            .map_err(failed(format!("mknod /dev/{name}")))?;
        }
        DeviceNodes::Created
    };

    // A private devpts instance: the container sees its own terminals, not the host's.
    let pts = dev.join("pts");
    ensure_directory(&pts)?;
    let mut options = String::from("newinstance,ptmxmode=0666,mode=0620");
    if let Some(gid) = devpts_gid {
        options.push_str(&format!(",gid={gid}"));
    }
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some(options.as_str()),
    )
    .map_err(failed("mount devpts on /dev/pts"))?;

    let shm = dev.join("shm");
    ensure_directory(&shm)?;
    mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(failed("mount tmpfs on /dev/shm"))?;

    // mqueue shows the message queues of the mounter's IPC namespace: without
    // our own, it would show (and let us delete) the host's.
    let mqueue = own_ipc;
    if own_ipc {
        let target = dev.join("mqueue");
        ensure_directory(&target)?;
        mount(
            Some("mqueue"),
            &target,
            Some("mqueue"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .map_err(failed("mount mqueue on /dev/mqueue"))?;
    }

    for (link, points_to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(points_to, dev.join(link))
            .map_err(io_failed(format!("symlink /dev/{link}")))?;
    }
    Ok(DevReport { nodes, mqueue })
}
// ANCHOR_END: dev

/// A bind mount needs a file to land on: create an empty one, bind the host's node over it.
fn bind_host_device(dev: &Path, name: &str) -> Result<(), MountFailure> {
    let target = dev.join(name);
    std::fs::File::create(&target).map_err(io_failed(format!("create /dev/{name}")))?;
    let source = Path::new("/dev").join(name);
    mount(
        Some(&source),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(failed(format!("bind the host's /dev/{name}")))
}
