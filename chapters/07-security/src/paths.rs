//! Masked and read-only paths: the parts of /proc and /sys that are not
//! namespaced and must not be read or written from a container.
//!
//! /proc/sys/kernel/core_pattern is one file for the whole machine: a root
//! that may write it picks the program the *host* runs, as root, at the next
//! crash. /proc/sysrq-trigger reboots the host; /proc/kcore is its memory;
//! /proc/timer_list and /proc/sched_debug leak other tenants' activity.
//! So, as docker does: files are covered with /dev/null, directories with an
//! empty read-only tmpfs, and the tunables are bind-mounted read-only.

use crate::error::SecurityError;
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::path::{Path, PathBuf};

// ANCHOR: defaults
/// Docker's masked paths (moby `oci/defaults.go`).
pub const DOCKER_MASKED: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const DOCKER_READONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
// ANCHOR_END: defaults

pub fn docker_masked() -> Vec<PathBuf> {
    DOCKER_MASKED.iter().map(PathBuf::from).collect()
}

pub fn docker_readonly() -> Vec<PathBuf> {
    DOCKER_READONLY.iter().map(PathBuf::from).collect()
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// This kernel has no such file: nothing to hide.
    Absent,
}

// ANCHOR: mask
/// CHILD side, inside the container after /proc and /dev exist: hide `path`.
/// (These paths are in the kernel's own procfs and sysfs, which a container
/// cannot fill with symlinks: naming them by path is safe here.)
pub fn mask(path: &Path) -> Result<Outcome, SecurityError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Outcome::Absent),
        Err(e) => return Err(io_failed(format!("stat {}", path.display()), e)),
    };
    let result = if meta.is_dir() {
        // An empty, read-only tmpfs over the directory.
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0"),
        )
    } else {
        // /dev/null over the file: it reads as empty, writes vanish.
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    result.map_err(|e| {
        SecurityError::apply(
            format!("masking {}", path.display()),
            e,
            "masking needs CAP_SYS_ADMIN before capabilities are dropped, and /dev/null inside the container",
        )
    })?;
    Ok(Outcome::Done)
}
// ANCHOR_END: mask

// ANCHOR: readonly
/// CHILD side: make `path` read-only — a bind mount onto itself, then a
/// read-only remount of that bind (chapter 02's `remount_readonly`).
pub fn make_readonly(path: &Path) -> Result<Outcome, SecurityError> {
    match mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Ok(()) => {}
        Err(Errno::ENOENT) => return Ok(Outcome::Absent),
        Err(e) => {
            return Err(SecurityError::apply(
                format!("bind-mounting {} onto itself", path.display()),
                e,
                "needs CAP_SYS_ADMIN before capabilities are dropped",
            ))
        }
    }
    // Chapter 02 remounts by fd: the bind mount just made, whatever its name is by now.
    let remount = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .and_then(|fd| ch02_namespaces::mount::remount_readonly(std::os::fd::AsFd::as_fd(&fd)));
    remount.map_err(|e| {
        SecurityError::apply(
            format!("remounting {} read-only", path.display()),
            e,
            "see mount(2), MS_REMOUNT|MS_BIND|MS_RDONLY",
        )
    })?;
    Ok(Outcome::Done)
}
// ANCHOR_END: readonly

fn io_failed(step: String, e: std::io::Error) -> SecurityError {
    SecurityError::apply(
        step,
        Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        "see mount(2)",
    )
}
