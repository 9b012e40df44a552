//! The ways the runtime can fail, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container id {0:?} is not valid: use letters, digits, '_', '-' and '.', not starting with '.'")]
    BadId(String),

    #[error("container {0:?} already exists: pick another id, or `delete` it first")]
    AlreadyExists(String),

    #[error("container {0:?} does not exist (see `list`)")]
    NotFound(String),

    #[error("container {id:?} is {status}; {what} needs it {needed}")]
    WrongState {
        id: String,
        status: String,
        what: &'static str,
        needed: &'static str,
    },

    #[error("reading {path}: {message} — a bundle is a directory with config.json (make one with `spec`) and the rootfs it names")]
    Config { path: PathBuf, message: String },

    /// A field of config.json we cannot honour: it would weaken isolation
    /// or change what runs, so it is refused rather than ignored.
    #[error("config.json {field}: {message}")]
    Unsupported { field: String, message: String },

    #[error("config.json {field}: {message}")]
    Invalid { field: String, message: String },

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{call} failed: {errno}")]
    Sys {
        call: &'static str,
        errno: nix::errno::Errno,
    },

    #[error("hook {path} ({stage}) failed: {message}")]
    Hook {
        stage: &'static str,
        path: PathBuf,
        message: String,
    },

    #[error("the console socket {path}: {message}")]
    Console { path: PathBuf, message: String },

    #[error(transparent)]
    Namespace(#[from] ch02_namespaces::NamespaceError),

    #[error(transparent)]
    Cgroup(#[from] ch03_cgroups::CgroupError),

    /// Chapter 07 refused the config's restrictions (an unknown capability,
    /// a seccomp action it lacks, a limit this host cannot grant).
    #[error(transparent)]
    Security(#[from] ch07_security::SecurityError),

    #[error(transparent)]
    Devices(#[from] ch03_cgroups::devices::DeviceError),

    #[error("unknown signal {0:?}: give a name (TERM, SIGKILL) or a number (15)")]
    BadSignal(String),
}

impl RuntimeError {
    /// The shell-style exit code (chapter 01's conventions).
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::Namespace(err) => err.exit_code(),
            _ => ch01_chroot::process::exit_code::TOOL_FAILED,
        }
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| RuntimeError::Io { what, path, source }
    }

    pub fn sys(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> Self {
        move |errno| RuntimeError::Sys { call, errno }
    }

    pub fn unsupported(field: impl Into<String>, message: impl Into<String>) -> Self {
        RuntimeError::Unsupported {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RuntimeError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
