//! /dev inside the container: the devices every OCI container gets, plus
//! the config's `linux.devices`.
//!
//! The runtime spec lists the defaults: null, zero, full, random, urandom,
//! tty, a `ptmx` symlink to the devpts instance, and /dev/fd, stdin, stdout,
//! stderr links; /dev/console when there is a terminal. They are made after
//! the config's mounts (the tmpfs on /dev is one of them), by descriptor.

use crate::error::RuntimeError;
use crate::inroot::{create_file_in, mkdir_all_in, open_in, proc_fd, InRootFailure};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A device node to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `linux.devices` → nodes; checked before anything is created.
pub fn parse(devices: &[oci_spec::runtime::LinuxDevice]) -> Result<Vec<DeviceNode>, RuntimeError> {
    use oci_spec::runtime::LinuxDeviceType as T;
    devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let field = format!("linux.devices[{i}] ({})", d.path().display());
            if !d.path().starts_with("/dev") {
                return Err(RuntimeError::invalid(
                    field,
                    "a device must live under /dev",
                ));
            }
            let kind = match d.typ() {
                T::C | T::U => SFlag::S_IFCHR,
                T::B => SFlag::S_IFBLK,
                T::P => SFlag::S_IFIFO,
                T::A => {
                    return Err(RuntimeError::invalid(
                        field,
                        "type \"a\" is for the device cgroup, not a node",
                    ))
                }
            };
            Ok(DeviceNode {
                path: d.path().clone(),
                kind,
                major: u64::try_from(d.major()).unwrap_or(0),
                minor: u64::try_from(d.minor()).unwrap_or(0),
                mode: d.file_mode().unwrap_or(0o666),
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            })
        })
        .collect()
}

/// The defaults of the runtime spec (name, major, minor).
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = ch02_namespaces::dev::DEVICES;

// ANCHOR: devices
/// CHILD side, before pivot_root: the default devices, the config's, and the links.
pub fn populate(
    root: &OwnedFd,
    extra: &[DeviceNode],
    in_user_ns: bool,
) -> Result<(), InRootFailure> {
    let defaults = DEFAULT_DEVICES
        .iter()
        .map(|(name, major, minor)| DeviceNode {
            path: Path::new("/dev").join(name),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        });
    for node in defaults.chain(extra.iter().cloned()) {
        make_node(root, &node, in_user_ns)?;
    }
    let dev = mkdir_all_in(root, Path::new("/dev"))?;
    let dev = nix::fcntl::openat(
        dev.as_fd(),
        ".",
        OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ("/dev".to_string(), e))?;
    for (link, points_to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        match nix::unistd::symlinkat(points_to, dev.as_fd(), link) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err((format!("/dev/{link}"), e)),
        }
    }
    Ok(())
}

fn make_node(root: &OwnedFd, node: &DeviceNode, in_user_ns: bool) -> Result<(), InRootFailure> {
    let shown = node.path.display().to_string();
    let parent = node.path.parent().unwrap_or(Path::new("/dev"));
    let name = node
        .path
        .file_name()
        .ok_or_else(|| (shown.clone(), Errno::EINVAL))?;
    if in_user_ns {
        // mknod is refused in a user namespace: bind the host's node instead.
        let target = create_file_in(root, &node.path)?;
        return mount(
            Some(&Path::new("/dev").join(name)),
            &proc_fd(&target),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| (format!("binding the host's node on {shown}"), e));
    }
    let dir = mkdir_all_in(root, parent)?;
    let dir = nix::fcntl::openat(
        dir.as_fd(),
        ".",
        OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| (shown.clone(), e))?;
    // mknodat in the directory we hold: (type, major, minor) is all a device is.
    match mknodat(
        dir.as_fd(),
        name,
        node.kind,
        Mode::from_bits_truncate(node.mode),
        makedev(node.major, node.minor),
    ) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(e) => return Err((format!("mknod {shown}"), e)),
    }
    // mknod applies the umask: set the mode, and the owner, exactly.
    let made = open_in(root, &node.path, OFlag::O_PATH | OFlag::O_NOFOLLOW)
        .map_err(|e| (shown.clone(), e))?;
    let by_fd = proc_fd(&made);
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &by_fd,
        Mode::from_bits_truncate(node.mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| (format!("chmod {shown}"), e))?;
    nix::unistd::chown(
        &by_fd,
        Some(nix::unistd::Uid::from_raw(node.uid)),
        Some(nix::unistd::Gid::from_raw(node.gid)),
    )
    .map_err(|e| (format!("chown {shown}"), e))
}
// ANCHOR_END: devices

/// /dev/console (after pivot_root): the container's pty, bound over an empty file.
pub fn bind_console_here(slave: &str) -> Result<(), Errno> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open("/dev/console")
    {
        Ok(_) => {}
        Err(e) => return Err(crate::process::io_errno(&e)),
    }
    mount(
        Some(slave),
        "/dev/console",
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
}
