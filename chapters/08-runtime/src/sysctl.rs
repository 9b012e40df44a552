//! `linux.sysctl`: kernel settings, but only those of a namespace the
//! container owns. Anything else would tune the host's kernel for every
//! process on it, so it is refused (the rules of runc's validator).

use crate::error::RuntimeError;
use nix::errno::Errno;
use std::path::Path;

/// Which namespaces are the container's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owned {
    pub ipc: bool,
    pub net: bool,
    pub uts: bool,
}

fn allowed(key: &str, own: Owned) -> bool {
    let ipc = matches!(
        key,
        "kernel.msgmax"
            | "kernel.msgmnb"
            | "kernel.msgmni"
            | "kernel.sem"
            | "kernel.shmall"
            | "kernel.shmmax"
            | "kernel.shmmni"
            | "kernel.shm_rmid_forced"
    ) || key.starts_with("fs.mqueue.");
    let uts = matches!(key, "kernel.hostname" | "kernel.domainname");
    (ipc && own.ipc) || (key.starts_with("net.") && own.net) || (uts && own.uts)
}

/// Checks every key; sorted (key, value) pairs.
pub fn check(
    sysctl: Option<&std::collections::HashMap<String, String>>,
    own: Owned,
) -> Result<Vec<(String, String)>, RuntimeError> {
    let mut all: Vec<(String, String)> = sysctl.cloned().unwrap_or_default().into_iter().collect();
    all.sort();
    for (key, _) in &all {
        if key.contains('/') || key.contains("..") || !allowed(key, own) {
            return Err(RuntimeError::unsupported(
                format!("linux.sysctl {key:?}"),
                "only sysctls of a namespace the container owns may be set (kernel.msg*/sem/shm*, fs.mqueue.* with an ipc namespace, net.* with a network namespace, kernel.hostname/domainname with uts): anything else would change the host",
            ));
        }
    }
    Ok(all)
}

// ANCHOR: write_sysctl
/// Inside the container, after pivot_root, before /proc/sys turns read-only:
/// a sysctl is a file under /proc/sys, dots becoming slashes.
pub fn write_all(sysctl: &[(String, String)]) -> Result<(), (String, Errno)> {
    for (key, value) in sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| {
            (
                format!("writing {}", path.display()),
                crate::process::io_errno(&e),
            )
        })?;
    }
    Ok(())
}
// ANCHOR_END: write_sysctl
