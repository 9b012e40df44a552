//! Passing Ctrl-C and `kill` on to the containers, so the supervisor lives to clean up.
//!
//! If the supervisor died on SIGINT/SIGTERM, nobody would print the diff or
//! delete the upper directory. Like `docker run` (its "sig-proxy"), we catch
//! those signals and send them to the containers' init processes instead; the
//! containers decide whether to exit, and we clean up after them.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicI32, Ordering};

/// How many containers one supervisor forwards to (`--many` allows as many).
pub const MAX_TARGETS: usize = 64;

/// The containers to forward to (0: a free slot). Read from a signal handler, so atomics.
static TARGETS: [AtomicI32; MAX_TARGETS] = [const { AtomicI32::new(0) }; MAX_TARGETS];
/// A signal that arrived before any container was running, delivered on `forward_to`.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The signals a terminal or a service manager uses to ask us to stop.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

extern "C" fn forward(signal: libc::c_int) {
    let mut delivered = false;
    for target in &TARGETS {
        let pid = target.load(Ordering::SeqCst);
        if pid > 0 {
            // kill(2) is async-signal-safe; nothing else happens in here.
            unsafe { libc::kill(pid, signal) };
            delivered = true;
        }
    }
    if !delivered {
        PENDING.store(signal, Ordering::SeqCst);
    }
}

/// Catches SIGINT/SIGTERM/SIGHUP/SIGQUIT from now on. Call it before starting
/// the container, so a signal during start-up is not lost (it is delivered by
/// [`forward_to`]).
pub fn catch_stop_signals() -> Result<(), nix::errno::Errno> {
    // SA_RESTART: our waitpid is not interrupted by a forwarded signal.
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in FORWARDED {
        // Safety: the handler only touches atomics and calls kill(2).
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}

/// Sends the caught signals to `pid` too (and any that arrived before it ran).
pub fn forward_to(pid: Pid) {
    // Take the first free slot (all MAX_TARGETS taken: this one is not forwarded to).
    let _claimed = TARGETS.iter().any(|slot| {
        slot.compare_exchange(0, pid.as_raw(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // Safety net for the start-up window; kill(2) with a valid signal number.
        unsafe { libc::kill(pid.as_raw(), pending) };
    }
}

/// A chapter 02 hook that starts forwarding as soon as the container's init
/// exists — before the command runs, and before `spawn` returns.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForwardSignals;

impl ch02_namespaces::Hooks for ForwardSignals {
    fn child_created(&mut self, pid: Pid) -> Result<(), ch02_namespaces::HookError> {
        forward_to(pid);
        Ok(())
    }
}
