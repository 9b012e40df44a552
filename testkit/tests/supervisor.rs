//! The reliability helpers must be able to fail: a "nothing outlived the
//! kill -9" check that always passes would say nothing. Here the supervisor
//! is a shell that leaves its child behind, as a buggy chapter would.

use minibox_testkit::broken_pipe::{closed_stderr_keeps_exit_code, yes_dies_of_sigpipe};
use minibox_testkit::supervisor::Supervisor;
use nix::sys::signal::Signal;
use std::process::Command;
use std::time::Duration;

/// `sh` runs `sleep 30` in the background: the sleep is not tied to it.
fn careless_supervisor() -> Supervisor {
    Supervisor::start(
        Command::new("sh").args(["-c", "sleep 30 & wait"]),
        1,
        "sleep",
        Duration::from_secs(10),
    )
}

#[test]
fn kill_9_reports_what_outlived_the_supervisor_and_ends_it() {
    let started = careless_supervisor();
    let sleep = started.below().to_vec();
    assert_eq!(started.kill_9(), sleep, "the orphaned sleep is reported");
    assert!(
        minibox_testkit::bounded::gone_by(
            sleep[0],
            std::time::Instant::now() + Duration::from_secs(5)
        ),
        "and killed"
    );
}

#[test]
fn still_running_sees_a_command_the_signal_did_not_reach() {
    let mut started = careless_supervisor();
    let status = started.signal(Signal::SIGTERM, Duration::from_secs(10));
    assert_eq!(status.code(), None, "sh died of the signal");
    assert_eq!(started.still_running(), started.below());
    // Dropping the Supervisor ends the sleep.
}

#[test]
fn a_command_that_never_runs_fails_the_start() {
    let start = std::panic::catch_unwind(|| {
        Supervisor::start(
            Command::new("sh").args(["-c", "exec sleep 30"]),
            2,
            "sleep",
            Duration::from_millis(300),
        )
    });
    assert!(start.is_err(), "sleep is 1 level below sh, not 2");
}

#[test]
#[should_panic(expected = "stderr closed after 0 line(s)")]
fn a_wrong_exit_code_under_a_closed_stderr_fails() {
    closed_stderr_keeps_exit_code(
        Command::new("sh").args(["-c", "echo out; exit 1"]),
        0,
        7,
        "sh",
    );
}

#[test]
#[should_panic(expected = "Broken pipe")]
fn a_yes_that_does_not_die_of_sigpipe_fails() {
    // SIGPIPE ignored, as a careless supervisor would pass it on: `yes` sees
    // EPIPE and exits 1 instead of dying of the signal.
    yes_dies_of_sigpipe(Command::new("sh").args(["-c", "trap '' PIPE; yes"]));
}

#[test]
#[should_panic(expected = "the command got it and the supervisor reported it")]
fn a_stop_signal_that_is_not_passed_on_fails() {
    // sh dies of the SIGTERM itself (no exit 143); its sleep runs on until
    // the Supervisor is dropped.
    careless_supervisor().assert_stop_signal_passed_on(Signal::SIGTERM, "sh");
}
