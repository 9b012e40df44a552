//! mount(2) of the overlay, and umount2(2).

use crate::error::OverlayError;
use crate::options::{MountPlan, PathForm};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir};
use std::path::Path;

// ANCHOR: mount_overlay
/// Mounts the overlay described by `plan` on `target` (an existing directory).
///
/// With short links the option string holds relative paths, so this changes
/// the working directory for the duration of the call. The working directory
/// belongs to the whole process: call it only where no other thread resolves
/// relative paths — the container child is single-threaded after fork(2).
/// (containerd, written in multi-threaded Go, mounts from a dedicated thread
/// that first calls unshare(CLONE_FS) to get a working directory of its own.)
// ANCHOR: mount_overlay_body
pub fn mount_overlay(plan: &MountPlan, target: &Path) -> Result<(), OverlayError> {
    // `target` must not be taken relative to the directory we are about to enter.
    let target = std::path::absolute(target).map_err(OverlayError::io("resolving", target))?;
    let mount_error = |errno| OverlayError::Mount {
        target: target.clone(),
        errno,
        hint: hint(errno),
    };
    match &plan.form {
        PathForm::Absolute => mount_now(plan, &target).map_err(mount_error),
        PathForm::ShortLinks { base } => {
            let here = open(".", OFlag::O_DIRECTORY | OFlag::O_RDONLY, Mode::empty())
                .map_err(mount_error)?;
            // Relative lowerdir/upperdir/workdir are resolved from the cwd of the caller.
            chdir(base.as_path()).map_err(mount_error)?;
            let mounted = mount_now(plan, &target);
            // Go back even if the mount failed; report the mount's error first.
            let back = fchdir(&here);
            mounted.map_err(mount_error)?;
            back.map_err(mount_error)
        }
    }
}

fn mount_now(plan: &MountPlan, target: &Path) -> Result<(), Errno> {
    // The source "overlay" is only a label (it shows in findmnt's SOURCE column);
    // everything overlayfs needs is in the data string.
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(plan.options.as_str()),
    )
}
// ANCHOR_END: mount_overlay_body
// ANCHOR_END: mount_overlay

/// What an errno from mounting overlayfs usually means.
fn hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "mounting needs CAP_SYS_ADMIN (run with sudo); inside a user namespace overlayfs needs Linux 5.11+",
        Errno::ENODEV => "the kernel has no overlayfs: `sudo modprobe overlay`",
        Errno::ENOENT => "a layer, upper or work path does not exist (or the option string was cut at the one-page limit); `dmesg | tail` names the path",
        Errno::EINVAL => "overlayfs rejected the options: is upper/work on a filesystem without xattr or d_type support (or on overlayfs itself)? `dmesg | tail` says which",
        Errno::ELOOP => "two layers overlap (one layer directory lies inside another, or inside the state directory): give each layer its own directory",
        Errno::EBUSY => "upper or work dir is in use by another overlay mount: every container needs its own",
        Errno::EACCES => "a layer is not searchable by the mounting user: check the permissions of every directory on the path",
        Errno::EMFILE | Errno::ENFILE => "too many open files",
        _ => "see `dmesg | tail` for overlayfs's own message",
    }
}

/// Detaches an overlay mounted on `target` (for host-side mounts; a
/// container's overlay goes away with its mount namespace).
pub fn unmount_overlay(target: &Path) -> Result<(), OverlayError> {
    // MNT_DETACH: succeed even if something still has a file open in it; the
    // kernel finishes the unmount when the last user lets go.
    umount2(target, MntFlags::MNT_DETACH).map_err(|errno| OverlayError::Unmount {
        target: target.to_path_buf(),
        errno,
    })
}
