//! The ways chapter 01 can fail, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ChrootError {
    #[error("chroot(2) needs root (CAP_SYS_CHROOT): run it with sudo")]
    NotRoot,

    #[error("root filesystem {0} does not exist: create one with `minibox rootfs {0}`")]
    RootfsMissing(PathBuf),

    #[error("{0} is not a directory: --rootfs wants a directory holding a root filesystem")]
    RootfsNotADirectory(PathBuf),

    #[error("no command given: say what to run after `--`, e.g. `-- /bin/sh`")]
    NoCommand,

    /// The command, or the loader or interpreter it needs, is missing inside the rootfs.
    #[error("{}", crate::interpreter::explain(command, missing, &rootfs.display().to_string()))]
    CommandNotFound {
        command: String,
        rootfs: PathBuf,
        missing: crate::interpreter::Missing,
    },

    #[error("could not start {command:?} inside {rootfs}: {errno}")]
    ExecFailed {
        command: String,
        rootfs: PathBuf,
        errno: nix::errno::Errno,
    },

    #[error("{call} failed: {errno}")]
    Sys {
        call: &'static str,
        errno: nix::errno::Errno,
    },

    #[error("setting up the child failed: {0}")]
    ChildSetup(String),
}

impl ChrootError {
    /// The shell-style exit code for this error (see [`crate::process::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        use crate::process::exit_code;
        match self {
            // The command exists, what it needs does not: found, but cannot run.
            ChrootError::CommandNotFound {
                missing: crate::interpreter::Missing::Interpreter { .. },
                ..
            } => exit_code::CANNOT_RUN,
            ChrootError::CommandNotFound { .. } => exit_code::NOT_FOUND,
            ChrootError::ExecFailed { .. } => exit_code::CANNOT_RUN,
            _ => exit_code::TOOL_FAILED,
        }
    }

    /// Wraps an errno with the name of the call that returned it.
    pub fn sys(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> ChrootError {
        move |errno| ChrootError::Sys { call, errno }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("busybox not found: install a static busybox (Debian/Ubuntu: `sudo apt install busybox-static`; Fedora: `sudo dnf install busybox`), or set MINIBOX_BUSYBOX=/path/to/busybox")]
    BusyboxNotFound,

    #[error("{0} is dynamically linked, so it cannot run inside a bare root filesystem: install a static busybox (Debian/Ubuntu: `sudo apt install busybox-static`)")]
    BusyboxNotStatic(PathBuf),

    #[error("{0} exists and is not empty (and is not a minibox rootfs): choose a new directory")]
    TargetNotEmpty(PathBuf),

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("running `{0} --list-full` failed: {1}")]
    ListApplets(PathBuf, String),
}
