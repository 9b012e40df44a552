//! The ways chapter 02 can fail, each with what to do about it.

use crate::hooks::HookError;
use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("creating namespaces needs root (CAP_SYS_ADMIN): run it with sudo")]
    NotRoot,

    #[error("root filesystem {0} does not exist: create one with `minibox rootfs {0}`")]
    RootfsMissing(PathBuf),

    #[error("{0} is not a directory: --rootfs wants a directory holding a root filesystem")]
    RootfsNotADirectory(PathBuf),

    #[error("no command given: say what to run after `--`, e.g. `-- /bin/sh`")]
    NoCommand,

    #[error("a hostname needs a UTS namespace: add --uts (or --all)")]
    HostnameWithoutUts,

    #[error("clone({flags}) failed: {errno} — {hint}")]
    Clone {
        flags: String,
        errno: Errno,
        hint: &'static str,
    },

    #[error("writing {path}: {source} — the parent maps IDs while the child waits; are the host IDs valid (see `minibox doctor`)?")]
    IdMap {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("hook: {0}")]
    Hook(#[from] HookError),

    #[error("inside the container, {step} failed: {errno} — {hint}")]
    Setup {
        step: String,
        errno: Errno,
        hint: String,
    },

    #[error("command {command:?} not found inside {rootfs}: paths are looked up inside the new root, not on the host (try /bin/sh)")]
    CommandNotFound { command: String, rootfs: PathBuf },

    #[error("could not start {command:?} inside {rootfs}: {errno}")]
    ExecFailed {
        command: String,
        rootfs: PathBuf,
        errno: Errno,
    },

    #[error("{call} failed: {errno}")]
    Sys { call: &'static str, errno: Errno },

    #[error("not implemented yet: {0}")]
    Unimplemented(&'static str),
}

impl NamespaceError {
    /// Wraps an errno with the name of the call that returned it.
    pub fn sys(call: &'static str) -> impl FnOnce(Errno) -> NamespaceError {
        move |errno| NamespaceError::Sys { call, errno }
    }
}
