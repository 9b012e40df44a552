//! The ways chapter 02 can fail, each with what to do about it.

use crate::hooks::HookError;
use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("creating namespaces needs root (CAP_SYS_ADMIN): run it with sudo")]
    NotRoot,

    /// No command, or no rootfs directory: chapter 01's checks and messages.
    #[error(transparent)]
    Input(#[from] ch01_chroot::ChrootError),

    #[error("this process has {threads} threads, and clone/fork copy only one: a thread holding a lock at that instant would hang the container. Start containers from a single-threaded process (a test binary with `harness = false`, or before any thread is spawned)")]
    MultiThreaded { threads: usize },

    #[error("joining the {kind} namespace {path}: {errno} — {hint}")]
    Join {
        kind: &'static str,
        path: PathBuf,
        errno: Errno,
        hint: &'static str,
    },

    #[error("a hostname needs a UTS namespace: add --uts (or --all)")]
    HostnameWithoutUts,

    #[error("clone({flags}) failed: {errno} — {hint}")]
    Clone {
        flags: String,
        errno: Errno,
        hint: &'static str,
    },

    #[error("writing {path} failed: {source} — each host ID range must exist and may be written once (overlapping or out-of-range maps are refused); `minibox doctor` checks user namespaces")]
    IdMap {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A caller's hook failed; it says what and what to do.
    #[error(transparent)]
    Hook(#[from] HookError),

    #[error("inside the container, {step} failed: {errno} — {hint}")]
    Setup {
        step: String,
        errno: Errno,
        hint: String,
    },

    /// The command, or the loader or interpreter it needs, is missing
    /// (`rootfs`: how messages name the root filesystem).
    #[error("{}", ch01_chroot::interpreter::explain(command, missing, rootfs))]
    CommandNotFound {
        command: String,
        rootfs: String,
        missing: ch01_chroot::interpreter::Missing,
    },

    #[error("starting {command:?} inside {rootfs} failed: {errno} — {}", exec_hint(*errno, *in_user_ns))]
    ExecFailed {
        command: String,
        rootfs: String,
        errno: Errno,
        /// Whether the container has a user namespace (root inside is not root outside).
        in_user_ns: bool,
    },

    #[error("the {what} {value:?} {problem}: {expected}")]
    InvalidName {
        /// "container name" or "hostname".
        what: &'static str,
        value: String,
        problem: String,
        expected: &'static str,
    },

    #[error("{call} failed: {errno} — {}", sys_hint(*errno))]
    Sys { call: &'static str, errno: Errno },
}

/// What to do when execve refused a command it found.
fn exec_hint(errno: Errno, in_user_ns: bool) -> &'static str {
    match errno {
        Errno::EACCES if in_user_ns => "make it executable (chmod +x) and its directories searchable — for the container's root, which in a user namespace is an unprivileged host user: files of other host users are not its own",
        Errno::EACCES => "make it executable (chmod +x) and its directories searchable",
        Errno::ENOEXEC => "it is not a program this kernel can run: a script needs a #! line, a binary the host's architecture",
        Errno::ENOENT => "a dynamically linked program needs its loader and libraries inside the rootfs (or use a static binary, like busybox)",
        Errno::E2BIG => "the arguments and environment are too long: shorten them",
        _ => "check that it is a program for this machine, runnable by the container's root",
    }
}

/// What to do when a plain host call failed (pipe2, waitpid, kill…).
fn sys_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EMFILE | Errno::ENFILE => "too many open files: close some or raise `ulimit -n`",
        Errno::EAGAIN | Errno::ENOMEM => {
            "the host is out of memory or processes: free some and retry"
        }
        Errno::ESRCH | Errno::ECHILD => "the container has already ended",
        _ => "unexpected on a working host: rerun with -v to see the last step that ran",
    }
}

impl NamespaceError {
    /// The shell-style exit code for this error (chapter 01's conventions).
    pub fn exit_code(&self) -> i32 {
        use ch01_chroot::process::exit_code;
        match self {
            // The command exists, what it needs does not: found, but cannot run.
            NamespaceError::CommandNotFound {
                missing: ch01_chroot::interpreter::Missing::Interpreter { .. },
                ..
            } => exit_code::CANNOT_RUN,
            NamespaceError::CommandNotFound { .. } => exit_code::NOT_FOUND,
            NamespaceError::ExecFailed { .. } => exit_code::CANNOT_RUN,
            _ => exit_code::TOOL_FAILED,
        }
    }

    /// Wraps an errno with the name of the call that returned it.
    pub fn sys(call: &'static str) -> impl FnOnce(Errno) -> NamespaceError {
        move |errno| NamespaceError::Sys { call, errno }
    }
}
