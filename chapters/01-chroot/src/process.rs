//! Waiting for a child and turning how it ended into a shell-style exit code.
//!
//! Shells report a command killed by signal N as 128+N (SIGKILL → 137); every
//! chapter's binary does the same, so `echo $?` tells the learner what happened.

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

/// The exit codes of the tools themselves, as shells and `docker run` use
/// them, so a script can tell "the command failed" from "we failed".
pub mod exit_code {
    /// The tool failed before the command could run.
    pub const TOOL_FAILED: i32 = 125;
    /// The command was found but could not be executed.
    pub const CANNOT_RUN: i32 = 126;
    /// The command does not exist inside the container.
    pub const NOT_FOUND: i32 = 127;
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(nix::sys::signal::Signal),
}

impl Exit {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(sig) => 128 + sig as i32,
        }
    }

    /// Turns a final wait status into an [`Exit`]; `None` for stop/continue events.
    pub fn from_wait_status(status: WaitStatus) -> Option<Exit> {
        match status {
            WaitStatus::Exited(_, code) => Some(Exit::Code(code)),
            WaitStatus::Signaled(_, sig, _) => Some(Exit::Signal(sig)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exited with code {code}"),
            Exit::Signal(sig) => write!(f, "killed by {sig} (exit code {})", self.shell_code()),
        }
    }
}

/// Waits until `pid` has ended (retrying on EINTR) and says how.
pub fn wait_for_exit(pid: Pid) -> Result<Exit, nix::errno::Errno> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(exit) = Exit::from_wait_status(status) {
                    return Ok(exit);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
}
