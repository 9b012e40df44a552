//! The supervisor's loop: wait for the container without dying before it.
//!
//! If Ctrl-C killed us while the container still ran, nobody would remove
//! its cgroup. So we catch SIGINT/SIGTERM/SIGHUP/SIGQUIT, pass the first one on to
//! the container, and on a second one kill the whole group through the cgroup.

use anyhow::Context;
use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::Container;
use ch03_cgroups::{Cgroup, Stats};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The last signal we caught (0: none yet).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: libc::c_int) {
    // Async-signal-safe: a store to an atomic, nothing else.
    CAUGHT.store(signal, Ordering::SeqCst);
}

pub fn install_signal_handlers() -> anyhow::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(remember),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        // Safety: the handler only stores to an atomic. exec() resets caught
        // signals to the default, so the container does not inherit it.
        unsafe { sigaction(signal, &action) }.with_context(|| format!("sigaction({signal})"))?;
    }
    Ok(())
}

/// How often we look; also the latency of forwarding a signal.
const POLL: Duration = Duration::from_millis(20);
const STATS_EVERY: Duration = Duration::from_secs(1);

// ANCHOR: supervise
/// Polls the container until it exits; with `live`, prints a stats line every second.
pub fn supervise(
    container: &mut Container,
    cgroup: &Cgroup,
    live: bool,
    narrator: &Narrator,
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
        std::thread::sleep(POLL);
    }
}
// ANCHOR_END: supervise
