//! The ways chapter 07 can fail, each with what to do about it.

use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("unknown capability {name:?}: use a name from capabilities(7) such as NET_ADMIN or CAP_NET_ADMIN, or ALL")]
    UnknownCapability { name: String },

    #[error("reading the seccomp profile {path}: {error}")]
    SeccompRead {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("the seccomp profile {path} is not valid OCI linux.seccomp JSON: {error} — it needs \"defaultAction\" and a list of \"syscalls\" with \"names\" and \"action\" (see `runc spec` or docker's default.json)")]
    SeccompJson {
        path: PathBuf,
        error: serde_json::Error,
    },

    #[error("seccomp: unknown system call {name:?}: no architecture this chapter knows has it (a typo? see syscalls(2))")]
    UnknownSyscall { name: String },

    #[error("seccomp: {what} is not supported here: {hint}")]
    SeccompUnsupported { what: String, hint: &'static str },

    #[error("seccomp: compiling the filter failed: {0}")]
    SeccompCompile(String),

    #[error("loading the seccomp filter failed: {errno} — {}", seccomp_hint(*errno))]
    SeccompLoad { errno: Errno },

    #[error("user {name:?} is not in {passwd}: add it there, or pass a numeric UID[:GID]")]
    UnknownUser { name: String, passwd: PathBuf },

    #[error("group {name:?} is not in {group}: add it there, or pass a numeric GID")]
    UnknownGroup { name: String, group: PathBuf },

    #[error("invalid --user {value:?}: expected UID, UID:GID, NAME or NAME:GROUP")]
    InvalidUser { value: String },

    #[error("reading {path} inside the rootfs: {error}")]
    RootfsFile {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("unknown rlimit {name:?}: use one of {known}")]
    UnknownRlimit { name: String, known: String },

    #[error("invalid --ulimit {text:?}: expected NAME=SOFT[:HARD] with whole numbers, e.g. nofile=1024:2048 (NAME one of {known})")]
    InvalidRlimit { text: String, known: String },

    #[error("rlimit {name}: soft limit {soft} is above the hard limit {hard}")]
    RlimitOrder { name: String, soft: u64, hard: u64 },

    #[error("rlimit {name}: raising the hard limit from {current} to {wanted} needs CAP_SYS_RESOURCE, which this process does not hold (it is not in the bounding set: we may run inside a container ourselves) — ask for at most {current}")]
    RlimitRaise {
        name: String,
        current: u64,
        wanted: u64,
    },

    #[error("{step} failed: {errno} — {hint}")]
    Apply {
        step: String,
        errno: Errno,
        hint: String,
    },

    #[error("re-executing from a sealed copy of our binary: {step} failed: {errno} — the runtime cannot protect its binary (CVE-2019-5736); /proc/self must be readable and memfd_create(2) available")]
    SealedExe { step: &'static str, errno: Errno },
}

fn seccomp_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EACCES => "without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before dropping capabilities, or set --no-new-privileges",
        Errno::EINVAL => "the kernel refused the program (CONFIG_SECCOMP_FILTER missing?)",
        Errno::ENOMEM => "the filter is too large, or too many filters are stacked already",
        _ => "see seccomp(2)",
    }
}

impl SecurityError {
    /// The step and errno of a failure in the container's command process.
    pub fn apply(step: impl Into<String>, errno: Errno, hint: impl Into<String>) -> Self {
        SecurityError::Apply {
            step: step.into(),
            errno,
            hint: hint.into(),
        }
    }
}
