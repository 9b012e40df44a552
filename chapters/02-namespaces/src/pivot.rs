//! pivot_root(2): swap the root of the mount namespace, then drop the old one.

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::path::Path;

/// pivot_root needs the new root to be a mount point: bind it onto itself.
pub fn bind_rootfs_onto_itself(rootfs: &Path) -> Result<(), Errno> {
    // MS_REC: keep whatever is mounted below the rootfs (a volume, say).
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
}
