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

/// CHILD side, right after fork(2)/clone(2): die when the parent dies, so
/// that a `kill -9` of the supervisor never leaves the container running,
/// reparented to the host's init with nobody to report or clean up.
///
/// PR_SET_PDEATHSIG only covers a parent that dies *after* the call: one that
/// died between fork and here has already gone. So we check. `parent` is the
/// PID the parent had before forking: if getppid() says otherwise we were
/// reparented. In a new PID namespace getppid() is 0 (the parent lives
/// outside it) and says nothing; then `lifeline` — a pipe end whose other end
/// only the parent holds — tells: poll(2) reports POLLHUP/POLLERR on it once
/// the parent's end is closed, which its death does.
/// Returns `Err(ESRCH)` if the parent is gone: the caller exits at once.
///
/// The kernel clears the setting when the process changes its user or group
/// IDs (setresuid inside a user namespace does): call it again after that.
// ANCHOR: die_with_parent
pub fn die_with_parent(
    parent: Option<Pid>,
    lifeline: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<(), nix::errno::Errno> {
    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signal::Signal;
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    let ppid = nix::unistd::getppid();
    if let Some(parent) = parent {
        if ppid.as_raw() != 0 && ppid != parent {
            return Err(Errno::ESRCH);
        }
    }
    if let Some(fd) = lifeline {
        // POLLOUT for a write end, POLLIN for a read end: either way a closed
        // other end shows as POLLERR (write end) or POLLHUP (read end).
        let mut fds = [PollFd::new(fd, PollFlags::POLLOUT | PollFlags::POLLIN)];
        loop {
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
        let gone = PollFlags::POLLHUP | PollFlags::POLLERR;
        if fds[0].revents().is_some_and(|r| r.intersects(gone)) {
            return Err(Errno::ESRCH);
        }
    }
    Ok(())
}
// ANCHOR_END: die_with_parent

/// When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat);
/// `None` if no such process. A PID and its start time name one process for
/// good: a PID alone may be reused by another process once the first died.
pub fn start_time(pid: Pid) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and ")": count after the last ")".
    let (_, rest) = stat.rsplit_once(") ")?;
    // `rest` starts at field 3 (the state), so field 22 is the 20th word.
    rest.split(' ').nth(19)?.parse().ok()
}
