//! What the container's process may do: capabilities, no_new_privs, masked
//! and read-only paths, sysctls.
//!
//! SEAM — chapter 07's `Restrictions` (capabilities, seccomp, no_new_privs,
//! masked/read-only paths, devices, users, rlimits) takes this module's
//! place: [`Restrictions::from_config`] becomes its constructor from
//! config.json's `process` and `linux`, and [`Restrictions::before_identity`]
//! / [`Restrictions::after_identity`] its apply steps. Until then this module
//! does the parts an OCI runtime cannot run without, and refuses (seccomp)
//! what it cannot honour.

use crate::error::RuntimeError;
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The capability sets, by caps' names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub bounding: HashSet<caps::Capability>,
    pub effective: HashSet<caps::Capability>,
    pub inheritable: HashSet<caps::Capability>,
    pub permitted: HashSet<caps::Capability>,
    pub ambient: HashSet<caps::Capability>,
}

/// Everything from config.json that limits the process.
#[derive(Debug, Clone, Default)]
pub struct Restrictions {
    /// `None`: the config gives no `capabilities`, so the process keeps root's.
    pub capabilities: Option<CapabilitySets>,
    pub no_new_privileges: bool,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub sysctl: Vec<(String, String)>,
}

fn cap_set(
    field: &str,
    set: &Option<oci_spec::runtime::Capabilities>,
) -> Result<HashSet<caps::Capability>, RuntimeError> {
    set.iter()
        .flatten()
        .map(|cap| {
            let name = format!("CAP_{cap}");
            name.parse::<caps::Capability>().map_err(|_| {
                RuntimeError::unsupported(
                    format!("process.capabilities.{field}"),
                    format!("{name} is not a capability this kernel interface knows"),
                )
            })
        })
        .collect()
}

/// sysctls that belong to a namespace the container owns: anything else
/// would tune the host's kernel (the rules of runc's validator).
fn sysctl_allowed(key: &str, own_ipc: bool, own_net: bool, own_uts: bool) -> bool {
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
    (ipc && own_ipc) || (key.starts_with("net.") && own_net) || (uts && own_uts)
}

impl Restrictions {
    // ANCHOR: from_config
    /// From `process.capabilities`, `process.noNewPrivileges`,
    /// `linux.maskedPaths`, `linux.readonlyPaths`, `linux.sysctl`,
    /// `linux.seccomp`. `namespaces` says which namespaces are the
    /// container's own (for sysctl).
    pub fn from_config(
        process: &oci_spec::runtime::Process,
        linux: Option<&oci_spec::runtime::Linux>,
        own: (bool, bool, bool),
    ) -> Result<Self, RuntimeError> {
        let capabilities = match process.capabilities() {
            None => None,
            Some(c) => Some(CapabilitySets {
                bounding: cap_set("bounding", c.bounding())?,
                effective: cap_set("effective", c.effective())?,
                inheritable: cap_set("inheritable", c.inheritable())?,
                permitted: cap_set("permitted", c.permitted())?,
                ambient: cap_set("ambient", c.ambient())?,
            }),
        };
        let mut restrictions = Restrictions {
            capabilities,
            no_new_privileges: process.no_new_privileges().unwrap_or(false),
            ..Restrictions::default()
        };
        if let Some(linux) = linux {
            if linux.seccomp().is_some() {
                return Err(RuntimeError::unsupported(
                    "linux.seccomp",
                    "seccomp filters are not applied by this runtime yet (chapter 07 builds them); drop the field, or run podman with --security-opt seccomp=unconfined",
                ));
            }
            let paths =
                |list: &Option<Vec<String>>, field: &str| -> Result<Vec<PathBuf>, RuntimeError> {
                    list.iter()
                        .flatten()
                        .map(|p| {
                            let path = PathBuf::from(p);
                            if path.is_absolute() {
                                Ok(path)
                            } else {
                                Err(RuntimeError::invalid(
                                    field,
                                    format!("{p:?} is not an absolute path"),
                                ))
                            }
                        })
                        .collect()
                };
            restrictions.masked_paths = paths(linux.masked_paths(), "linux.maskedPaths")?;
            restrictions.readonly_paths = paths(linux.readonly_paths(), "linux.readonlyPaths")?;
            let mut sysctl: Vec<(String, String)> = linux
                .sysctl()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            sysctl.sort();
            for (key, _) in &sysctl {
                if key.contains('/')
                    || key.contains("..")
                    || !sysctl_allowed(key, own.0, own.1, own.2)
                {
                    return Err(RuntimeError::unsupported(
                        format!("linux.sysctl {key:?}"),
                        "only sysctls of a namespace the container owns may be set (kernel.msg*/sem/shm*, fs.mqueue.* with an ipc namespace, net.* with a network namespace, kernel.hostname/domainname with uts): anything else would change the host",
                    ));
                }
            }
            restrictions.sysctl = sysctl;
        }
        Ok(restrictions)
    }
    // ANCHOR_END: from_config

    /// Ambient capabilities that cannot be raised (not permitted and inheritable).
    pub fn unraisable_ambient(&self) -> Vec<caps::Capability> {
        let Some(sets) = &self.capabilities else {
            return Vec::new();
        };
        let mut left: Vec<_> = sets
            .ambient
            .iter()
            .filter(|c| !(sets.permitted.contains(c) && sets.inheritable.contains(c)))
            .copied()
            .collect();
        left.sort_by_key(|c| c.to_string());
        left
    }

    // ANCHOR: before_identity
    /// Inside the container, after pivot_root, still with all of root's
    /// powers: sysctls, masks, read-only paths; then the bounding set, and
    /// PR_SET_KEEPCAPS so the uid change keeps what we allow.
    pub fn before_identity(&self) -> Result<(), (String, Errno)> {
        for (key, value) in &self.sysctl {
            let path = Path::new("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&path, value).map_err(|e| {
                (
                    format!("writing {}", path.display()),
                    crate::process::io_errno(&e),
                )
            })?;
        }
        for path in &self.masked_paths {
            mask(path)?;
        }
        for path in &self.readonly_paths {
            make_readonly(path)?;
        }
        if let Some(sets) = &self.capabilities {
            for cap in caps::all() {
                if !sets.bounding.contains(&cap) {
                    // A capability dropped from the bounding set can never come back, even via setuid binaries.
                    caps::drop(None, caps::CapSet::Bounding, cap).map_err(|e| {
                        (
                            format!("dropping {cap} from the bounding set: {e}"),
                            Errno::EPERM,
                        )
                    })?;
                }
            }
            nix::sys::prctl::set_keepcaps(true)
                .map_err(|e| ("prctl(PR_SET_KEEPCAPS)".to_string(), e))?;
        }
        Ok(())
    }
    // ANCHOR_END: before_identity

    // ANCHOR: after_identity
    /// After setresuid: exactly the configured sets, then no_new_privs.
    pub fn after_identity(&self) -> Result<(), (String, Errno)> {
        if let Some(sets) = &self.capabilities {
            let set = |which, wanted: &HashSet<caps::Capability>, name: &str| {
                caps::set(None, which, wanted).map_err(|e| {
                    (
                        format!("setting the {name} capabilities: {e}"),
                        Errno::EPERM,
                    )
                })
            };
            // The kernel checks each set against the others: inheritable
            // while we still hold everything, then effective (⊆ permitted), then permitted.
            set(caps::CapSet::Inheritable, &sets.inheritable, "inheritable")?;
            set(caps::CapSet::Effective, &sets.effective, "effective")?;
            set(caps::CapSet::Permitted, &sets.permitted, "permitted")?;
            // Ambient capabilities must be in permitted and inheritable already.
            caps::clear(None, caps::CapSet::Ambient)
                .map_err(|e| (format!("clearing ambient capabilities: {e}"), Errno::EPERM))?;
            // Only what is permitted and inheritable can be ambient (the
            // config is warned about at load time, as runc does).
            for cap in sets
                .ambient
                .iter()
                .filter(|c| sets.permitted.contains(c) && sets.inheritable.contains(c))
            {
                caps::raise(None, caps::CapSet::Ambient, *cap)
                    .map_err(|e| (format!("raising ambient {cap}: {e}"), Errno::EPERM))?;
            }
        }
        if self.no_new_privileges {
            // setuid binaries and file capabilities grant nothing from now on (inherited across execve).
            nix::sys::prctl::set_no_new_privs()
                .map_err(|e| ("prctl(PR_SET_NO_NEW_PRIVS)".to_string(), e))?;
        }
        Ok(())
    }
    // ANCHOR_END: after_identity
}

/// A masked path reads as empty: /dev/null over a file, an empty read-only
/// tmpfs over a directory. Paths that do not exist need no mask.
fn mask(path: &Path) -> Result<(), (String, Errno)> {
    let shown = || format!("masking {}", path.display());
    match std::fs::metadata(path) {
        Err(_) => Ok(()),
        Ok(meta) if meta.is_dir() => mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            Some("size=0"),
        )
        .map_err(|e| (shown(), e)),
        Ok(_) => mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| (shown(), e)),
    }
}

/// Bind the path onto itself, then remount that bind read-only.
fn make_readonly(path: &Path) -> Result<(), (String, Errno)> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let shown = || format!("making {} read-only", path.display());
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| (shown(), e))?;
    // The mount just made, by fd: the remount hits exactly it.
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| (shown(), e))?;
    ch02_namespaces::mount::remount_readonly(std::os::fd::AsFd::as_fd(&fd))
        .map_err(|e| (shown(), e))
}
