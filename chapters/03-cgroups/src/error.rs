//! The ways chapter 03 can fail, each with what to do about it.

use crate::layout::LayoutError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("reading the cgroup layout: {0}")]
    Layout(#[from] LayoutError),

    #[error("{limit} needs the {controller} controller, which this host does not offer: {hint}")]
    ControllerMissing {
        limit: &'static str,
        controller: &'static str,
        hint: String,
    },

    #[error("creating cgroup {path}: {source}{}", hint_for_mkdir(source))]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cgroup {path} already exists and is in use ({why}): a container of this name is running — choose another --name, or stop that one first")]
    InUse {
        path: PathBuf,
        why: crate::stale::InUse,
    },

    #[error("writing {value:?} to {path}: {source}{hint}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
        hint: String,
    },

    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{what} did not take effect within {waited_ms} ms ({path} still says {state:?}): a process may be stuck in the kernel (D state); try again, or look at `cat {path}`")]
    Timeout {
        what: &'static str,
        path: PathBuf,
        state: String,
        waited_ms: u64,
    },

    #[error("removing cgroup {path}: {source} — {hint}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        hint: String,
    },

    #[error("sending {signal} to PID {pid}: {errno}")]
    Signal {
        pid: i32,
        signal: nix::sys::signal::Signal,
        errno: nix::errno::Errno,
    },

    #[error("freezing needs the freezer: {0}")]
    NoFreezer(String),

    #[error("invalid {what} {value:?}: {expected}")]
    Invalid {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}

fn hint_for_mkdir(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
            " — creating cgroups needs root, or a cgroup delegated to you: run with sudo, or pass --cgroup-parent pointing at a delegated cgroup (systemd-run --user --scope -p Delegate=yes …)"
        }
        Some(libc::ENOSPC) => {
            " — the hierarchy is full (cgroup.max.descendants or cgroup.max.depth): remove old cgroups"
        }
        _ => "",
    }
}

/// What to say when a write into a cgroup file fails, by file and errno.
pub(crate) fn hint_for_write(file: &str, err: &std::io::Error) -> String {
    let hint = match (file, err.raw_os_error()) {
        ("cgroup.subtree_control", Some(libc::EBUSY)) => {
            "this cgroup has processes in it, and cgroup v2 forbids a cgroup with processes from handing controllers to children (the \"no internal processes\" rule): pass --cgroup-parent pointing at a cgroup with no processes"
        }
        ("cgroup.subtree_control", Some(libc::ENOENT)) => {
            "the parent does not offer this controller (look at its cgroup.controllers): enable it one level up first"
        }
        ("cgroup.subtree_control", Some(libc::EOPNOTSUPP)) => {
            "the controller is bound to a cgroup v1 hierarchy on this host; use the v1 hierarchy instead"
        }
        ("cgroup.procs", Some(libc::ESRCH)) => "the process already exited",
        ("cgroup.procs", Some(libc::EBUSY)) => {
            "cgroup v2 refuses to put a process into a cgroup that hands controllers to children: use a leaf cgroup"
        }
        ("cgroup.procs", Some(libc::EOPNOTSUPP)) => {
            "this is a threaded cgroup or a domain-invalid one: use a plain leaf cgroup"
        }
        (f, Some(libc::EBUSY)) if f.starts_with("memory.") => {
            "the cgroup already uses more memory than that: choose a larger limit"
        }
        (_, Some(libc::EINVAL)) => "the kernel rejected the value: check its range in the cgroup documentation",
        (_, Some(libc::EACCES)) | (_, Some(libc::EPERM)) => {
            "permission denied: run with sudo, or use a cgroup delegated to you"
        }
        _ => return String::new(),
    };
    format!(" — {hint}")
}
