//! Mount propagation of "/" and overlayfs support.

use super::{read_trimmed, Check, Status};

/// systemd makes "/" shared, so a mount made inside a new mount namespace
/// would propagate back to the host unless the namespace first makes it private.
pub fn check_root_propagation() -> Check {
    let mountinfo = read_trimmed("/proc/self/mountinfo").unwrap_or_default();
    // Fields: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - …; "/" is the last mount at "/".
    let root = root_mount_line(&mountinfo);
    let Some(root) = root else {
        return Check::new(
            "propagation",
            Status::Warn,
            "could not find / in /proc/self/mountinfo",
        );
    };
    let optional: Vec<&str> = root
        .split(" - ")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(6)
        .collect();
    let kind = if optional.iter().any(|f| f.starts_with("shared:")) {
        "shared"
    } else if optional.iter().any(|f| f.starts_with("master:")) {
        "slave"
    } else {
        "private"
    };
    Check::new("propagation", Status::Ok, format!("/ is {kind}"))
        .detail(if kind == "shared" {
            "as on every systemd host: chapter 02 makes / rprivate inside each new mount namespace first"
        } else {
            "mounts inside a new mount namespace cannot leak back; chapter 02 still makes / rprivate, as systemd hosts need"
        })
}

pub fn check_overlayfs() -> Check {
    let filesystems = read_trimmed("/proc/filesystems").unwrap_or_default();
    if filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
    {
        return Check::new("overlayfs", Status::Ok, "overlay is in /proc/filesystems");
    }
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let module = format!("/lib/modules/{release}/kernel/fs/overlayfs");
    if std::path::Path::new(&module).exists() {
        Check::new(
            "overlayfs",
            Status::Warn,
            "overlay is a module that is not loaded yet",
        )
        .fix("`sudo modprobe overlay` (the kernel also loads it on first mount)")
    } else {
        Check::new("overlayfs", Status::Fail, "this kernel has no overlayfs (chapters 04–06 need it)")
            .fix("use a distribution kernel (Ubuntu, Debian, Fedora all have it), or build with CONFIG_OVERLAY_FS")
    }
}

/// The mountinfo line of "/" (the last one mounted there wins, as in path lookup).
pub(crate) fn root_mount_line(mountinfo: &str) -> Option<&str> {
    mountinfo
        .lines()
        .rfind(|l| l.split_whitespace().nth(4) == Some("/"))
}
