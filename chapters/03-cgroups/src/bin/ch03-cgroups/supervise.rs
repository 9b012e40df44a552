//! The supervisor's loop: wait for the container without dying before it.
//!
//! If Ctrl-C killed us while the container still ran, nobody would remove
//! its cgroup. So we catch SIGINT/SIGTERM/SIGHUP/SIGQUIT, pass the first one on to
//! the container, and on a second one kill the whole group through the cgroup.

use anyhow::Context;
use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::Container;
use ch03_cgroups::{Cgroup, Stats};
use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{
    sigaction, sigprocmask, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::sys::time::TimeSpec;
use nix::unistd::Pid;
use std::io::{IsTerminal, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The last signal we caught (0: none yet).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: libc::c_int) {
    // Async-signal-safe: a store to an atomic, nothing else.
    CAUGHT.store(signal, Ordering::SeqCst);
}

/// The signals the supervisor catches and passes on.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

pub fn install_signal_handlers() -> anyhow::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(remember),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in FORWARDED {
        // Safety: the handler only stores to an atomic. exec() resets caught
        // signals to the default, so the container does not inherit it.
        unsafe { sigaction(signal, &action) }.with_context(|| format!("sigaction({signal})"))?;
    }
    Ok(())
}

/// Without a pidfd (Linux before 5.3) we fall back to looking this often.
const POLL: Duration = Duration::from_millis(20);
const STATS_EVERY: Duration = Duration::from_secs(1);

/// An fd that becomes readable when `pid` exits; `None` on kernels without pidfds.
fn open_pidfd(pid: Pid) -> Option<OwnedFd> {
    // pidfd_open(2): sleep until init exits instead of waking to ask waitpid.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // Safety: the kernel just gave us this fd, and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

// ANCHOR: supervise
/// Waits for the container to exit; with `live`, prints a stats line every second.
pub fn supervise(
    container: &mut Container,
    cgroup: &Cgroup,
    live: bool,
    narrator: &Narrator,
) -> anyhow::Result<Exit> {
    let pidfd = open_pidfd(container.pid());
    // Our signals stay blocked except inside ppoll, which unblocks them
    // atomically while it sleeps: one that lands just after we looked at
    // CAUGHT is delivered there and wakes us (EINTR), never lost.
    let mut forwarded = SigSet::empty();
    FORWARDED.iter().for_each(|s| forwarded.add(*s));
    let mut unblocked = SigSet::empty();
    sigprocmask(
        SigmaskHow::SIG_BLOCK,
        Some(&forwarded),
        Some(&mut unblocked),
    )
    .context("blocking signals outside the wait")?;
    let result = supervise_loop(container, cgroup, live, narrator, pidfd, unblocked);
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&unblocked), None);
    result
}

fn supervise_loop(
    container: &mut Container,
    cgroup: &Cgroup,
    live: bool,
    narrator: &Narrator,
    pidfd: Option<OwnedFd>,
    unblocked: SigSet,
) -> anyhow::Result<Exit> {
    let mut signals_seen = 0;
    let mut last: Option<(Instant, Stats)> = None;
    let mut next_line = Instant::now();
    let on_terminal = std::io::stderr().is_terminal();
    // ANCHOR: supervise_loop
    loop {
        if let Some(exit) = container.try_wait().context("waiting for the container")? {
            if live && on_terminal {
                // End the redrawn line; never a panic if stderr is gone.
                ch01_chroot::narrate::write_line("");
            }
            return Ok(exit);
        }
        let caught = CAUGHT.swap(0, Ordering::SeqCst);
        if caught != 0 {
            signals_seen += 1;
            if signals_seen == 1 {
                if let Ok(signal) = Signal::try_from(caught) {
                    narrator.step(&format!("caught {signal}: passing it on to the container"));
                    let _ = container.signal(signal);
                }
            } else {
                narrator.step("second signal: killing every process in the cgroup");
                cgroup.kill().context("killing the container's cgroup")?;
            }
        }
        // ANCHOR_END: supervise_loop
        if live && Instant::now() >= next_line {
            let now = Instant::now();
            let stats = cgroup.stats();
            let percent = last
                .as_ref()
                .and_then(|(at, before)| stats.cpu_percent_since(before, now - *at));
            let line = stats.live_line(percent);
            let mut err = std::io::stderr().lock();
            // A line that redraws itself on a terminal, a log line otherwise.
            let _ = if on_terminal {
                write!(err, "\r\x1b[2K{line}")
            } else {
                writeln!(err, "{line}")
            };
            let _ = err.flush();
            last = Some((now, stats));
            next_line = now + STATS_EVERY;
        }
        // Sleep until init exits, a signal comes, or the next stats line is due.
        let wake = if live {
            Some(next_line.saturating_duration_since(Instant::now()))
        } else {
            None
        };
        let timeout = match &pidfd {
            Some(_) => wake,
            None => Some(wake.map_or(POLL, |w| w.min(POLL))),
        };
        let mut fds: Vec<PollFd> = pidfd
            .iter()
            .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            .collect();
        match ppoll(
            &mut fds,
            timeout.map(TimeSpec::from_duration),
            Some(unblocked),
        ) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno).context("waiting for the container (ppoll)"),
        }
    }
}
// ANCHOR_END: supervise
