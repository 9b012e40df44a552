//! `run` stays the container's parent: it waits for it and passes on the
//! signals it is sent (Ctrl-C, `kill`), as runc run does.

use crate::error::RuntimeError;
use ch01_chroot::Exit;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// What a supervisor passes on to its container: the stop signals a
/// terminal or `kill` sends, and the two left to programs (the engine's
/// attached CLI passes the same ones).
pub const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Blocks SIGCHLD and the forwarded signals, before the container exists, so
/// none is lost. The mask is inherited across clone and execve: the
/// container's process clears it for itself before exec (`before_exec`).
pub fn block_signals() -> Result<SigSet, RuntimeError> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for sig in FORWARDED {
        set.add(sig);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .map_err(RuntimeError::sys("sigprocmask"))?;
    Ok(set)
}

pub fn unblock(set: &SigSet) {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(set), None);
}

// ANCHOR: forward
/// Sleeps in sigwait: a forwarded signal goes to the container's PID 1, a
/// SIGCHLD may mean it ended.
pub fn wait_forwarding(
    mut container: ch02_namespaces::Container,
    set: &SigSet,
) -> Result<Exit, RuntimeError> {
    loop {
        if let Some(exit) = container.try_wait()? {
            unblock(set);
            return Ok(exit);
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) | Err(_) => continue,
            Ok(signal) => {
                let _ = container.signal(signal);
            }
        }
    }
}
// ANCHOR_END: forward
