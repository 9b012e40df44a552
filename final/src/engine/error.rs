//! The engine's errors, each with the exit code docker gives it.

use ch01_chroot::process::exit_code;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such container, image or name.
    #[error("{0}")]
    NotFound(String),
    /// A name taken, a container in the wrong state.
    #[error("{0}")]
    Conflict(String),
    /// A flag or argument that cannot work.
    #[error("{0}")]
    Invalid(String),
    /// The container's command does not exist (docker's 127).
    #[error("{0}")]
    CommandNotFound(String),
    /// The container's command exists but cannot be run (docker's 126).
    #[error("{0}")]
    CannotRun(String),
    /// The OCI runtime failed.
    #[error("{0}")]
    Runtime(String),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{call}: {errno}")]
    Sys {
        call: &'static str,
        errno: nix::errno::Errno,
    },
    #[error(transparent)]
    Store(#[from] ch05_images::StoreError),
    #[error(transparent)]
    Registry(#[from] ch06_registry::RegistryError),
    #[error(transparent)]
    Security(#[from] ch07_security::SecurityError),
    #[error(transparent)]
    Overlay(#[from] ch04_overlay::OverlayError),
    #[error(transparent)]
    Cgroup(#[from] ch03_cgroups::CgroupError),
    #[error(transparent)]
    OciRuntime(#[from] ch08_runtime::RuntimeError),
}

impl EngineError {
    /// docker's convention: 125 the engine failed, 126 cannot run, 127 not found.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::CommandNotFound(_) => exit_code::NOT_FOUND,
            EngineError::CannotRun(_) => exit_code::CANNOT_RUN,
            EngineError::OciRuntime(err) => err.exit_code(),
            _ => exit_code::TOOL_FAILED,
        }
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| EngineError::Io { what, path, source }
    }

    pub fn sys(call: &'static str) -> impl FnOnce(nix::errno::Errno) -> Self {
        move |errno| EngineError::Sys { call, errno }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
