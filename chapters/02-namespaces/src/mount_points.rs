//! The mount points the container had to create in the rootfs.
//!
//! /proc, /dev and /sys are mounted on directories of the rootfs; a rootfs
//! without them gets them created (a busybox rootfs has them). Those we
//! created are ours to remove once the container has ended — `--rootfs /tmp`
//! must not leave /tmp/proc, /tmp/dev and /tmp/sys behind. Removal is
//! rmdir(2) relative to a descriptor of the rootfs opened before the
//! container started: it never follows a symlink put there meanwhile, and
//! never removes a directory that is not empty.

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::os::fd::OwnedFd;
use std::path::Path;

/// The directories the container mounts on, in the rootfs.
const MOUNT_POINTS: [&str; 3] = ["proc", "dev", "sys"];

/// The mount points missing before the container started.
#[derive(Debug)]
pub(crate) struct MadeMountPoints {
    rootfs: OwnedFd,
    missing: Vec<&'static str>,
}

impl MadeMountPoints {
    /// Notes which mount points `rootfs` lacks now; `None` if it lacks none.
    pub(crate) fn note_missing(rootfs: &Path) -> Option<MadeMountPoints> {
        let fd = open(
            rootfs,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let missing: Vec<&'static str> = MOUNT_POINTS
            .into_iter()
            .filter(|name| {
                // fstatat without following a symlink: a dangling link is not "missing".
                nix::sys::stat::fstatat(&fd, *name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
                    .is_err()
            })
            .collect();
        (!missing.is_empty()).then_some(MadeMountPoints {
            rootfs: fd,
            missing,
        })
    }

    /// Once the container has ended (its mounts died with its mount
    /// namespace): rmdir the mount points it created. Never earlier — since
    /// Linux 3.18 removing a mount point in another namespace detaches the
    /// mount there.
    pub(crate) fn remove(self) {
        for name in self.missing {
            // An empty directory only: anything put inside stays, and so does it.
            let _ = unlinkat(&self.rootfs, name, UnlinkatFlags::RemoveDir);
        }
    }
}
