//! Which devices a container may use: the device cgroup's rules (chapter
//! 03's `devices` module enforces them) and, for `--privileged`, the host's
//! device nodes recreated inside.

use ch03_cgroups::devices::{Access, DeviceKind, DeviceRule};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

// ANCHOR: default_rules
/// runc's and docker's default device rules: creating any node is allowed
/// (`m`) — images ship device nodes — but opening one is allowed only for
/// the harmless character devices /dev holds, and terminals.
pub fn default_rules() -> Vec<DeviceRule> {
    let c = |major, minor| DeviceRule::allow(DeviceKind::Char, Some(major), minor, Access::ALL);
    vec![
        DeviceRule::deny_all(),
        DeviceRule::allow(DeviceKind::Char, None, None, Access::MKNOD),
        DeviceRule::allow(DeviceKind::Block, None, None, Access::MKNOD),
        c(1, Some(3)), // /dev/null
        c(1, Some(5)), // /dev/zero
        c(1, Some(7)), // /dev/full
        c(1, Some(8)), // /dev/random
        c(1, Some(9)), // /dev/urandom
        c(5, Some(0)), // /dev/tty
        c(5, Some(1)), // /dev/console
        c(5, Some(2)), // /dev/ptmx
        c(136, None),  // /dev/pts/*
    ]
}
// ANCHOR_END: default_rules

/// Everything (`a *:* rwm`): `--privileged`.
pub fn allow_all() -> Vec<DeviceRule> {
    vec![DeviceRule::allow(DeviceKind::All, None, None, Access::ALL)]
}

/// A device node to create in the container's /dev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    /// Relative to /dev, e.g. `vda` or `net/tun`.
    pub name: PathBuf,
    pub block: bool,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
}

/// PARENT side, on the host: every device node under /dev (docker's
/// `--privileged` gives the container all of them).
pub fn host_device_nodes() -> Vec<DeviceNode> {
    let mut nodes = Vec::new();
    collect(Path::new("/dev"), Path::new(""), &mut nodes);
    nodes
}

fn collect(dir: &Path, relative: &Path, nodes: &mut Vec<DeviceNode>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let name = relative.join(entry.file_name());
        let ft = meta.file_type();
        // Not /dev/pts and /dev/shm: the container has its own.
        if ft.is_dir() && !matches!(name.to_str(), Some("pts" | "shm" | "mqueue")) {
            collect(&entry.path(), &name, nodes);
        } else if ft.is_block_device() || ft.is_char_device() {
            let rdev = meta.rdev();
            nodes.push(DeviceNode {
                name,
                block: ft.is_block_device(),
                major: nix::sys::stat::major(rdev),
                minor: nix::sys::stat::minor(rdev),
                mode: meta.permissions().mode() & 0o7777,
            });
        }
    }
}

/// CHILD side: mknod the nodes that /dev does not have yet.
pub fn create_nodes(nodes: &[DeviceNode]) -> usize {
    let dev = Path::new("/dev");
    let mut made = 0;
    for node in nodes {
        let path = dev.join(&node.name);
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let kind = if node.block {
            SFlag::S_IFBLK
        } else {
            SFlag::S_IFCHR
        };
        if mknod(
            &path,
            kind,
            Mode::from_bits_truncate(node.mode),
            makedev(node.major, node.minor),
        )
        .is_ok()
        {
            made += 1;
        }
    }
    made
}
