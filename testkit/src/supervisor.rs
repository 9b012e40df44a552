//! A chapter binary running in the background, watched from the host: the
//! scaffolding of the "kill -9 the supervisor" and "stop signals" tests.
//!
//! A demo binary is a supervisor: it forks the container (or, in chapter 01,
//! the chrooted command) and waits for it. To test what a `kill -9` of the
//! supervisor, or a Ctrl-C, does to the container, a test must first know that
//! the command really runs — not merely that the supervisor was started — and
//! which host PIDs to look at afterwards. [`Supervisor::start`] waits for
//! that; [`Supervisor::kill_9`] kills the supervisor with no chance to clean
//! up and reports what outlived it. If a test fails half-way, dropping the
//! [`Supervisor`] ends everything it started, so no `sleep 30` outlives it.

use crate::bounded::{children_of, gone_by, is_alive, wait_within};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the processes below a supervisor may take to end after its
/// `kill -9`: PR_SET_PDEATHSIG and the end of a PID namespace act at once,
/// so a process still running after this was not tied to its supervisor.
pub const KILL_9_GRACE: Duration = Duration::from_secs(1);

/// What a terminal or `kill` sends to end a program: kill's default,
/// Ctrl-C, a closed terminal, `Ctrl-\`. A supervisor must pass each on.
pub const STOP_SIGNALS: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// A supervisor started by the test, and the processes below it down to the
/// command it runs.
#[derive(Debug)]
pub struct Supervisor {
    child: Child,
    /// From the supervisor's child down to the command: `[command]` for
    /// chapter 01's chroot, `[init, command]` for a container.
    below: Vec<Pid>,
}

impl Supervisor {
    /// Starts `cmd` with stdin, stdout and stderr on /dev/null (nobody reads,
    /// so nothing can block on a full pipe), and waits at most `limit` until
    /// the process `levels` generations below it runs `comm` (1: its child, as
    /// in chapter 01; 2: the command under a container's init). Panics, after
    /// ending what it started, if that never happens.
    pub fn start(cmd: &mut Command, levels: usize, comm: &str, limit: Duration) -> Supervisor {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        // Owned at once: if we panic below, Drop ends the supervisor.
        let mut started = Supervisor {
            child,
            below: Vec::new(),
        };
        match wait_for_command_below(started.pid(), levels, comm, limit) {
            Some(below) => started.below = below,
            None => {
                panic!("{cmd:?}: `{comm}` never ran {levels} level(s) below it within {limit:?}")
            }
        }
        started
    }

    /// The supervisor's PID (names like `ch04-<PID>` contain it).
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The processes below the supervisor, its child first, the command last.
    pub fn below(&self) -> &[Pid] {
        &self.below
    }

    /// `kill -9` of the supervisor: no handler runs, nothing is cleaned up.
    /// Returns the processes below it that still ran [`KILL_9_GRACE`] later
    /// (empty is the only right answer); those are SIGKILLed, so the test
    /// leaves nothing behind either way.
    pub fn kill_9(mut self) -> Vec<Pid> {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
        let deadline = Instant::now() + KILL_9_GRACE;
        let outlived: Vec<Pid> = self
            .below
            .iter()
            .copied()
            .filter(|pid| !gone_by(*pid, deadline))
            .collect();
        for pid in &outlived {
            let _ = kill(*pid, Signal::SIGKILL);
        }
        outlived
    }

    /// Sends `signal` to the supervisor (as Ctrl-C or `kill` would) and waits
    /// at most `limit` for it to end; past that it is stopped and the test fails.
    pub fn signal(&mut self, signal: Signal, limit: Duration) -> ExitStatus {
        kill(self.pid(), signal).unwrap_or_else(|e| panic!("kill -{signal} {}: {e}", self.pid()));
        wait_within(
            &mut self.child,
            limit,
            &format!("the supervisor after {signal}"),
        )
    }

    /// The stop-signal check every chapter makes: sends `signal` to the
    /// supervisor (at most 10 s to end) and asserts it passed it on — it
    /// reports the command's death by it (exit 128 + N) and nothing below it
    /// still runs. `what` names the run in the failure messages.
    pub fn assert_stop_signal_passed_on(mut self, signal: Signal, what: &str) {
        let status = self.signal(signal, Duration::from_secs(10));
        assert_eq!(
            status.code(),
            Some(128 + signal as i32),
            "{what} {signal}: the command got it and the supervisor reported it"
        );
        assert_eq!(
            self.still_running(),
            [],
            "{what} {signal}: the command and its init ended"
        );
    }

    /// The processes below the supervisor that still run now.
    pub fn still_running(&self) -> Vec<Pid> {
        self.below
            .iter()
            .copied()
            .filter(|pid| is_alive(*pid))
            .collect()
    }
}

impl Drop for Supervisor {
    /// A test that failed half-way must not leave its container running —
    /// also when the supervisor itself has ended and left its command.
    fn drop(&mut self) {
        for pid in self.still_running() {
            let _ = kill(pid, Signal::SIGKILL);
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The stop-signal test whole: each of [`STOP_SIGNALS`] is sent to a fresh
/// supervisor from `start` and must reach its command (see
/// [`Supervisor::assert_stop_signal_passed_on`]).
pub fn assert_stop_signals_passed_on(what: &str, mut start: impl FnMut() -> Supervisor) {
    for signal in STOP_SIGNALS {
        start().assert_stop_signal_passed_on(signal, what);
    }
}

/// Polls (at most `limit`) for the process `levels` generations below
/// `parent` that runs `comm`; returns the chain down to it (see [`command_below`]).
pub fn wait_for_command_below(
    parent: Pid,
    levels: usize,
    comm: &str,
    limit: Duration,
) -> Option<Vec<Pid>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(below) = command_below(parent, levels, comm) {
            return Some(below);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The chain of processes from a child of `parent` down `levels`
/// generations to one whose name (/proc/PID/comm) is `comm`, if it runs yet:
/// until the command has exec'd, the process there still has the
/// supervisor's name.
pub fn command_below(parent: Pid, levels: usize, comm: &str) -> Option<Vec<Pid>> {
    children_of(parent).into_iter().find_map(|child| {
        if levels <= 1 {
            let name = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
            (name.trim() == comm).then(|| vec![child])
        } else {
            let mut chain = command_below(child, levels - 1, comm)?;
            chain.insert(0, child);
            Some(chain)
        }
    })
}
