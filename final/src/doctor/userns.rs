//! Can user namespaces be created? Three knobs decide, depending on the distribution.

use super::{read_trimmed, Check, Status};

pub fn check_user_namespaces() -> Check {
    let max =
        read_trimmed("/proc/sys/user/max_user_namespaces").and_then(|v| v.parse::<u64>().ok());
    // Debian and older Ubuntu: a switch for unprivileged users.
    let unprivileged = read_trimmed("/proc/sys/kernel/unprivileged_userns_clone");
    // Ubuntu 24.04: AppArmor restricts unprivileged user namespaces.
    let apparmor = read_trimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");

    if max == Some(0) {
        return Check::new(
            "user ns",
            Status::Fail,
            "user.max_user_namespaces = 0: user namespaces are disabled",
        )
        .fix("`sudo sysctl -w user.max_user_namespaces=15000` (chapter 02 --user needs it)");
    }
    let mut check = Check::new(
        "user ns",
        Status::Ok,
        format!(
            "enabled (user.max_user_namespaces = {})",
            max.map_or("?".into(), |m| m.to_string())
        ),
    );
    if unprivileged.as_deref() == Some("0") {
        check = check
            .detail("kernel.unprivileged_userns_clone = 0: only root may create them (fine: the chapters run as root)");
    }
    if apparmor.as_deref() == Some("1") {
        check.status = Status::Warn;
        check = check
            .detail("kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 24.04): unprivileged users are restricted")
            .fix("as root nothing changes; to try --user without sudo: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`");
    }
    // The real proof: ask the kernel. A forked child tries unshare(CLONE_NEWUSER).
    match probe_unshare_user() {
        Ok(()) => check.detail("probe: unshare(CLONE_NEWUSER) succeeded"),
        Err(e) => {
            check.status = Status::Fail;
            check.found = format!("unshare(CLONE_NEWUSER) failed: {e}");
            check.fix("see the sysctls above; in a container, user namespaces need --privileged or a seccomp profile that allows them")
        }
    }
}

/// Tries to create a user namespace in a short-lived child, leaving ours alone.
fn probe_unshare_user() -> Result<(), nix::errno::Errno> {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    // Safety: the child only calls unshare and _exit (async-signal-safe).
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
                Ok(()) => 0,
                Err(errno) => errno as i32,
            };
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => match waitpid(child, None)? {
            WaitStatus::Exited(_, 0) => Ok(()),
            WaitStatus::Exited(_, code) => Err(nix::errno::Errno::from_raw(code)),
            _ => Err(nix::errno::Errno::ECHILD),
        },
    }
}
