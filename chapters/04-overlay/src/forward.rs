//! Passing Ctrl-C and `kill` on to the container, so the supervisor lives to clean up.
//!
//! If the supervisor died on SIGINT/SIGTERM, nobody would print the diff or
//! delete the upper directory. Like `docker run` (its "sig-proxy"), we catch
//! those signals and send them to the container's init instead; the container
//! decides whether to exit, and we clean up after it.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicI32, Ordering};

/// The container to forward to (0: none yet). Read from a signal handler, so an atomic.
static TARGET: AtomicI32 = AtomicI32::new(0);

/// The signals a terminal or a service manager uses to ask us to stop.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

extern "C" fn forward(signal: libc::c_int) {
    let pid = TARGET.load(Ordering::SeqCst);
    if pid > 0 {
        // kill(2) is async-signal-safe; nothing else happens in here.
        unsafe { libc::kill(pid, signal) };
    }
}

/// From now on, SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to us go to `pid` instead.
pub fn forward_signals_to(pid: nix::unistd::Pid) -> Result<(), nix::errno::Errno> {
    TARGET.store(pid.as_raw(), Ordering::SeqCst);
    // SA_RESTART: our waitpid is not interrupted by the forwarded signal.
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in FORWARDED {
        // Safety: the handler only loads an atomic and calls kill(2).
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}
