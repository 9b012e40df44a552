//! Are we root, and does root have the capabilities containers need?

use super::{read_trimmed, Check, Status};

pub fn check_root() -> Check {
    let euid = nix::unistd::geteuid();
    if euid.is_root() {
        let via = std::env::var("SUDO_USER")
            .map(|u| format!(" (via sudo, for {u})"))
            .unwrap_or_default();
        Check::new("root", Status::Ok, format!("running as root{via}"))
    } else {
        Check::new("root", Status::Fail, format!("running as uid {euid}, not root"))
            .fix("run the chapters and `minibox` with sudo (e.g. `sudo minibox doctor`); `cargo run`/`cargo test` use sudo for you")
    }
}

/// Capability bits we care about (linux/capability.h).
const CAP_SYS_CHROOT: u32 = 18;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;

pub fn check_capabilities() -> Check {
    let status = read_trimmed("/proc/self/status").unwrap_or_default();
    let mask = |field: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    let (Some(effective), Some(bounding)) = (mask("CapEff:"), mask("CapBnd:")) else {
        return Check::new(
            "capabilities",
            Status::Warn,
            "could not read CapEff/CapBnd from /proc/self/status",
        );
    };
    let has = |set: u64, cap: u32| set & (1u64 << cap) != 0;
    if !nix::unistd::geteuid().is_root() {
        return Check::new(
            "capabilities",
            Status::Info,
            "not root: checked again once you run as root",
        );
    }
    let mut missing = Vec::new();
    for (cap, name) in [
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        (CAP_SYS_CHROOT, "CAP_SYS_CHROOT"),
    ] {
        if !has(effective, cap) {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Check::new("capabilities", Status::Fail, format!("root lacks {}", missing.join(", ")))
            .fix("you are root inside a restricted container; run on a VM or laptop, or a container started with --privileged");
    }
    if !has(bounding, CAP_SYS_RESOURCE) {
        return Check::new(
            "capabilities",
            Status::Warn,
            "CAP_SYS_RESOURCE is not in the bounding set: hard rlimits can be lowered, never raised",
        )
        .detail("harmless for the chapters; podman needs lower default ulimits here");
    }
    Check::new(
        "capabilities",
        Status::Ok,
        "CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_RESOURCE",
    )
}
