//! The parts of config.json's `process` that are the runtime's own: the
//! terminal and the OOM score. (Identity, capabilities, rlimits, seccomp
//! are chapter 07's `Restrictions`.) Applied in the container's process,
//! after pivot_root, while it is still root.

use nix::errno::Errno;
use std::os::fd::RawFd;

/// What the process gets besides its restrictions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSetup {
    pub oom_score_adj: Option<i32>,
    /// A pty to open inside the container and send to the engine; its slave
    /// becomes stdio and the controlling terminal.
    pub terminal: Option<crate::terminal::TerminalRequest>,
}

impl ProcessSetup {
    pub fn from_process(process: &oci_spec::runtime::Process) -> Self {
        ProcessSetup {
            oom_score_adj: process.oom_score_adj(),
            terminal: None,
        }
    }

    /// Returns (step, errno) on failure.
    pub fn apply(&self) -> Result<(), (String, Errno)> {
        if let Some(request) = &self.terminal {
            let slave = crate::terminal::open_and_send(request)?;
            become_terminal(slave)?;
        }
        if let Some(adj) = self.oom_score_adj {
            // Lowering it needs CAP_SYS_RESOURCE: done while we are root.
            std::fs::write("/proc/self/oom_score_adj", adj.to_string())
                .map_err(|e| ("writing /proc/self/oom_score_adj".into(), io_errno(&e)))?;
        }
        Ok(())
    }
}

// ANCHOR: become_terminal
/// The pty slave becomes our stdin, stdout, stderr and controlling terminal:
/// a new session (setsid), then TIOCSCTTY claims the terminal for it.
fn become_terminal(slave: RawFd) -> Result<(), (String, Errno)> {
    nix::unistd::setsid().map_err(|e| ("setsid".to_string(), e))?;
    // Safety: an ioctl on an fd we hold, with an integer argument.
    Errno::result(unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) })
        .map_err(|e| ("ioctl(TIOCSCTTY)".to_string(), e))?;
    for target in 0..3 {
        // Safety: dup2 of a valid fd onto 0, 1, 2.
        Errno::result(unsafe { libc::dup2(slave, target) })
            .map_err(|e| (format!("dup2(pty, {target})"), e))?;
    }
    if slave > 2 {
        // Safety: we own this copy; 0–2 hold the terminal now.
        unsafe { libc::close(slave) };
    }
    Ok(())
}
// ANCHOR_END: become_terminal

pub(crate) fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

// ANCHOR: close_fds
/// Every descriptor above stderr is marked close-on-exec: whatever the
/// runtime or its caller had open (a cgroup directory, a pipe, a log) must
/// not reach the program. An fd of a host directory inherited across execve
/// is a way out of the rootfs (runc's CVE-2024-21626). Marking rather than
/// closing keeps the descriptors the last steps before execve still use.
pub fn close_fds_on_exec() -> Result<(), (String, Errno)> {
    // Safety: close_range(2) with the CLOEXEC flag only sets flags on our fds.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(done)
        .map(|_| ())
        .map_err(|e| ("close_range(3, ~0, CLOSE_RANGE_CLOEXEC)".to_string(), e))
}
// ANCHOR_END: close_fds
