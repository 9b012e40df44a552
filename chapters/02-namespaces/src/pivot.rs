//! pivot_root(2): swap the root of the mount namespace, then drop the old one.
//!
//! chroot(2) changes how *one process* resolves "/"; the old root stays
//! mounted and reachable (chapter 01 climbed back out). pivot_root changes
//! the root *mount* of the whole mount namespace, and once the old root is
//! unmounted there is nothing left to climb back to.

use crate::inroot::Dir;
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, fchdir, pivot_root};
use std::path::Path;

// ANCHOR: rprivate
/// Cut propagation between our mount namespace and the host's. On systemd
/// hosts "/" is shared: without this, every mount we make (and the unmount of
/// the old root!) would propagate back to the host. pivot_root also refuses
/// (EINVAL) to move a shared mount.
pub fn make_root_private() -> Result<(), Errno> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
}
// ANCHOR_END: rprivate

// ANCHOR: bind_rootfs
/// pivot_root needs the new root to be a mount point: bind it onto itself.
/// Source and target are one fd, so both are surely the same directory.
pub fn bind_rootfs_onto_itself(rootfs: &Path) -> Result<(), Errno> {
    let dir = Dir::open_host(rootfs)?;
    // MS_REC: keep whatever is mounted below the rootfs (a volume, say).
    mount(
        Some(&dir.proc_path()),
        &dir.proc_path(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
}
// ANCHOR_END: bind_rootfs

/// Which step of the pivot failed.
#[derive(Debug, Clone, Copy)]
pub enum PivotStep {
    Chdir,
    PivotRoot,
    DetachOldRoot,
    ChdirRoot,
}

impl PivotStep {
    pub fn name(self) -> &'static str {
        match self {
            PivotStep::Chdir => "fchdir(new root)",
            PivotStep::PivotRoot => "pivot_root",
            PivotStep::DetachOldRoot => "umount2(old root, MNT_DETACH)",
            PivotStep::ChdirRoot => "chdir(\"/\")",
        }
    }
}

// ANCHOR: pivot
/// Make `new_root` the root of this mount namespace and detach the old one.
///
/// We use the form pivot_root(2) documents as `pivot_root(".", ".")`: the
/// old root is stacked on top of the new one instead of being moved into a
/// `put_old` directory, so the rootfs needs no spare directory we would have
/// to create — and could not, when it is read-only or owned by an ID that
/// is unmapped in our user namespace. `new_root` is the fd opened after the
/// rootfs became a mount point: fchdir, never a path, gets us there.
pub fn pivot_into(new_root: &Dir) -> Result<(), (PivotStep, Errno)> {
    fchdir(new_root.fd()).map_err(|e| (PivotStep::Chdir, e))?;
    // new_root must be a mount point and must not be shared, or: EINVAL.
    pivot_root(".", ".").map_err(|e| (PivotStep::PivotRoot, e))?;
    // "." is now the old root, mounted on top of the new one. MNT_DETACH:
    // other processes of the host may still use it; we only need it gone
    // from *our* namespace, which is what a lazy unmount does.
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| (PivotStep::DetachOldRoot, e))?;
    // Our cwd still pointed into the detached tree: step onto the new "/".
    chdir("/").map_err(|e| (PivotStep::ChdirRoot, e))?;
    Ok(())
}
// ANCHOR_END: pivot
