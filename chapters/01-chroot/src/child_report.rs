//! How a forked child tells its parent why it failed.
//!
//! After fork(2) the child does the setup (chroot, and in later chapters much
//! more) and then execs the command. If anything fails, only the child knows.
//! The classic answer, used by runc and by Rust's own `std::process`, is a
//! close-on-exec pipe: a successful exec closes it, so the parent reads EOF;
//! a failure writes "which step, which errno" into it before exiting.

use crate::interpreter::{diagnose_enoent, Missing};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{pipe2, read, write};
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// What the child reports: the step that failed and its errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    pub step: String,
    pub errno: Errno,
    /// For an exec that failed with ENOENT: which file was missing, as the
    /// child (inside the new root) found out.
    pub missing: Option<Missing>,
}

impl ChildFailure {
    pub fn new(step: impl Into<String>, errno: Errno) -> Self {
        ChildFailure {
            step: step.into(),
            errno,
            missing: None,
        }
    }
}

/// Separates a step from its details in the report (the ASCII group separator).
const DETAIL: char = '\u{1d}';

impl std::fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.errno)
    }
}

/// The two ends of the report pipe; each process drops the end it does not use.
#[derive(Debug)]
pub struct ReportPipe {
    read_end: OwnedFd,
    write_end: OwnedFd,
}

/// The child's end.
#[derive(Debug)]
pub struct ChildReporter(OwnedFd);

/// The parent's end.
#[derive(Debug)]
pub struct ParentListener(OwnedFd);

impl ReportPipe {
    pub fn new() -> Result<Self, Errno> {
        // O_CLOEXEC: a successful execve closes the write end, which is the "it worked" signal.
        let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
        Ok(ReportPipe {
            read_end,
            write_end,
        })
    }

    pub fn into_child(self) -> ChildReporter {
        ChildReporter(self.write_end)
    }

    pub fn into_parent(self) -> ParentListener {
        ParentListener(self.read_end)
    }
}

impl ChildReporter {
    /// Reports a failed step and ends the child with exit code 127
    /// ("command could not be run", as shells say).
    pub fn fail(&self, step: &str, errno: Errno) -> ! {
        let message = format!("{}\0{}", step, errno as i32);
        // Nothing more can be done if even this write fails: the parent will see
        // EOF and an exit code of 127.
        let _ = write(&self.0, message.as_bytes());
        // _exit, not exit: the child must not run the parent's atexit handlers
        // or flush stdio buffers it inherited.
        unsafe { libc::_exit(127) }
    }

    /// Replaces this process with `argv[0]`, searched in PATH, or reports why not.
    pub fn exec(&self, argv: &[String]) -> ! {
        let args: Result<Vec<CString>, _> =
            argv.iter().map(|a| CString::new(a.as_bytes())).collect();
        let args = match args {
            Ok(args) if !args.is_empty() => args,
            _ => self.fail("execvp", Errno::EINVAL),
        };
        // Rust ignores SIGPIPE (we want EPIPE, not death, when stderr's reader
        // goes), and an ignored signal stays ignored across execve. Give the
        // command the default back — shells expect it: `yes | head` ends by it.
        // Only now, after our last line of narration: a closed stderr must
        // not kill us before the exec.
        // Safety: SIG_DFL runs no code.
        let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
        // execvp only returns on failure.
        let errno = match nix::unistd::execvp(&args[0], &args) {
            Err(errno) => errno,
            Ok(never) => match never {},
        };
        if errno == Errno::ENOENT {
            // The command, or what it needs? We are inside the new root: look.
            let path = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin".into());
            let missing = diagnose_enoent(&argv[0], &path);
            self.fail(&format!("execvp{DETAIL}{}", missing.encode()), errno)
        }
        self.fail("execvp", errno)
    }
}

impl ParentListener {
    /// Blocks until the child has exec'd (Ok(None)) or reported a failure.
    pub fn wait(self) -> Result<Option<ChildFailure>, Errno> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 256];
        loop {
            match read(&self.0, &mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&buf);
        let (step, code) = text.split_once('\0').unwrap_or((&text, "0"));
        let errno = Errno::from_raw(code.parse().unwrap_or(0));
        let (step, missing) = match step.split_once(DETAIL) {
            Some((step, detail)) => (step, Missing::decode(detail)),
            None => (step, None),
        };
        Ok(Some(ChildFailure {
            step: step.to_string(),
            errno,
            missing,
        }))
    }
}
