//! PID 1: the container's init.
//!
//! The first process of a PID namespace has three duties the kernel gives to
//! no one else. Orphans are re-parented to it, so it must reap them, or they
//! stay zombies forever. Signals reach it only if it handles them (the
//! kernel drops a SIGTERM to an init that left it at SIG_DFL), so it must
//! pass them on to the real command. And when it exits, the kernel kills
//! everything else in the namespace, so it must wait for the command and
//! report its status. Like tini and catatonit, ours does exactly that.

use ch01_chroot::Exit;
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, read, write, ForkResult, Pid};
use std::convert::Infallible;
use std::os::fd::OwnedFd;

/// Faults are synchronous: they concern init itself and are never forwarded.
const NOT_FORWARDED: [Signal; 7] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

fn forwarded_signals() -> SigSet {
    let mut set = SigSet::all();
    for sig in NOT_FORWARDED {
        set.remove(sig);
    }
    set
}

// ANCHOR: init
/// Becomes the init: forks the command (`start_command` runs in the child and
/// never returns: it execs or exits), then forwards signals and reaps until the command ends.
/// Exits with the command's status, after telling the parent how it ended
/// through `fate` (an exit code 137 and a SIGKILL look the same otherwise).
// ANCHOR: init_signals
pub fn run_as_init(start_command: impl FnOnce() -> Infallible, fate: OwnedFd) -> ! {
    let forwarded = forwarded_signals();
    // Block the signals *before* forking: one arriving between fork and the
    // loop below stays pending instead of being lost. A blocked signal is
    // also never dropped by the PID-1 protection.
    if let Err(errno) = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), None)
    {
        init_failed("sigprocmask", errno);
    }
    // Outside a PID namespace we are not PID 1, so orphans would go to the
    // host's init: ask to be their "subreaper" instead.
    let _ = nix::sys::prctl::set_child_subreaper(true);

    // ANCHOR_END: init_signals
    // ANCHOR: init_fork
    let init = nix::unistd::getpid();
    // Safety: the container's init is single-threaded.
    let command = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // Without a PID namespace, init's death would not end the command:
            // it must die with init, as init dies with the supervisor.
            if ch01_chroot::process::die_with_parent(Some(init), None).is_err() {
                unsafe { libc::_exit(ch01_chroot::process::exit_code::TOOL_FAILED) }
            }
            reset_signals_for_command(&forwarded);
            match start_command() {}
        }
        Ok(ForkResult::Parent { child }) => {
            // The closure owns the command's plumbing (the report pipe's
            // write end): our copy must close, or the parent would wait for
            // the report until the command ends.
            drop(start_command);
            child
        }
        Err(errno) => init_failed("fork", errno),
    };

    // ANCHOR_END: init_fork
    // ANCHOR: init_loop
    loop {
        // Sleep until a signal arrives; no handler runs, we just get its number.
        let signal = match forwarded.wait() {
            Ok(signal) => signal,
            Err(_) => continue,
        };
        if signal == Signal::SIGCHLD {
            if let Some(exit) = reap_zombies(command) {
                tell_fate(&fate, exit);
                // _exit: no destructors, no stdio flushing in a forked child.
                unsafe { libc::_exit(exit.shell_code()) }
            }
        } else {
            // Pass it on; ESRCH means the command is already gone.
            let _ = nix::sys::signal::kill(command, signal);
        }
    }
}

// ANCHOR_END: init_loop
/// Reaps every child that has ended; returns the command's exit once it has.
// ANCHOR: init_reap
fn reap_zombies(command: Pid) -> Option<Exit> {
    let mut command_exit = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return command_exit,
            Ok(status) => {
                // Any other PID is an orphan we adopted: reaping it is the whole point.
                if status.pid() == Some(command) {
                    command_exit = Exit::from_wait_status(status);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(_) => return command_exit,
        }
    }
}
// ANCHOR_END: init_reap
// ANCHOR_END: init

/// The command must start with a clean slate: default dispositions and no
/// blocked signals (both survive execve). SIGPIPE stays ignored until the
/// exec itself (chapter 01's `ChildReporter::exec` restores it): until then
/// we may still narrate, and a closed stderr must not kill us.
fn reset_signals_for_command(blocked: &SigSet) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if sig != Signal::SIGKILL && sig != Signal::SIGSTOP && sig != Signal::SIGPIPE {
            // Safety: installing SIG_DFL runs no code of ours.
            let _ = unsafe { sigaction(sig, &default) };
        }
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(blocked), None);
}

/// PID 1 must never panic: the kernel ignores the abort a panic ends in, so
/// a closed stderr must cost the message, never the process.
fn init_failed(step: &str, errno: Errno) -> ! {
    ch01_chroot::narrate::write_line(&format!("minibox-init: {step}: {errno}"));
    unsafe { libc::_exit(ch01_chroot::process::exit_code::TOOL_FAILED) }
}

/// Two bytes: b'C' + exit code, or b'S' + signal number.
fn tell_fate(fate: &OwnedFd, exit: Exit) {
    let message = match exit {
        Exit::Code(code) => [b'C', code as u8],
        Exit::Signal(sig) => [b'S', sig as i32 as u8],
    };
    let _ = write(fate, &message);
}

/// PARENT side: how the command ended, if init lived to say so.
pub fn read_fate(fate: &OwnedFd) -> Option<Exit> {
    let mut message = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match read(fate, &mut message[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
    match message[0] {
        b'C' => Some(Exit::Code(i32::from(message[1]))),
        b'S' => Signal::try_from(i32::from(message[1]))
            .ok()
            .map(Exit::Signal),
        _ => None,
    }
}
