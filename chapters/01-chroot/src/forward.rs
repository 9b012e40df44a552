//! Passing Ctrl-C and `kill` on to the containers, so the supervisor lives to clean up.
//!
//! If the supervisor died on SIGINT/SIGTERM, the command would run on
//! unsupervised, and nobody would report its exit code, remove its cgroup
//! (chapter 03) or delete its writable layer (chapter 04). Like `docker run`
//! (its "sig-proxy"), we catch those signals and send them to the container
//! instead — the chroot'ed command here, the container's init from chapter 02
//! on; the container decides whether to exit, and we clean up after it.

use nix::sys::signal::{
    sigaction, sigprocmask, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicI32, Ordering};

/// How many containers one supervisor forwards to (`--many` allows as many).
pub const MAX_TARGETS: usize = 64;

/// The containers to forward to (0: a free slot). Read from a signal handler, so atomics.
static TARGETS: [AtomicI32; MAX_TARGETS] = [const { AtomicI32::new(0) }; MAX_TARGETS];
/// The last stop signal we caught (0: none yet). A container that registers
/// later — it was still starting — gets it then, so nobody misses "stop".
static STOP: AtomicI32 = AtomicI32::new(0);

/// The signals a terminal or a service manager uses to ask us to stop.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

extern "C" fn forward(signal: libc::c_int) {
    STOP.store(signal, Ordering::SeqCst);
    for target in &TARGETS {
        let pid = target.load(Ordering::SeqCst);
        if pid > 0 {
            // kill(2) is async-signal-safe; nothing else happens in here.
            unsafe { libc::kill(pid, signal) };
        }
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

// ANCHOR: forward_to
/// Sends the caught signals to `pid` from now on, and the last one that
/// arrived before (while it was starting, or before it existed) right away.
///
/// Call it only once the container handles signals itself — after the
/// chroot'ed child exec'd its command (exec resets caught signals), or after
/// chapter 02's `spawn` returned, which is after init blocked them and forked
/// the command. Earlier, the child is still setting up with the handlers it
/// inherited from us across fork(2)/clone(2): a signal sent to it then runs
/// *its copy* of [`forward`], in its own memory, and is lost.
pub fn forward_to(pid: Pid) -> Result<(), nix::errno::Errno> {
    let mut stop_signals = SigSet::empty();
    for signal in FORWARDED {
        stop_signals.add(signal);
    }
    // Our handler must not run between "registered" and "told about STOP":
    // the container would get the same signal twice.
    let mut before = SigSet::empty();
    sigprocmask(
        SigmaskHow::SIG_BLOCK,
        Some(&stop_signals),
        Some(&mut before),
    )?;
    // Take the first free slot (all MAX_TARGETS taken: this one is not forwarded to).
    let _claimed = TARGETS.iter().any(|slot| {
        slot.compare_exchange(0, pid.as_raw(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    let stop = STOP.load(Ordering::SeqCst);
    let delivered = match Signal::try_from(stop) {
        Ok(signal) => nix::sys::signal::kill(pid, signal),
        Err(_) => Ok(()),
    };
    // Signals that arrived meanwhile run the handler now, for every target.
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None)?;
    // ESRCH: the container already ended; there is nobody left to stop.
    match delivered {
        Err(nix::errno::Errno::ESRCH) => Ok(()),
        other => other,
    }
}
// ANCHOR_END: forward_to

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_that_has_ended_is_no_error() {
        // PID 0x3fff_fff0 is above pid_max: kill(2) says ESRCH — like a container gone already.
        STOP.store(libc::SIGTERM, Ordering::SeqCst);
        let gone = Pid::from_raw(0x3fff_fff0);
        assert_eq!(forward_to(gone), Ok(()));
        STOP.store(0, Ordering::SeqCst);
    }
}
