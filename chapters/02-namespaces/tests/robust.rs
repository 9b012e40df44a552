//! Chapter 02 under the hard cases: a reader that goes away (also while the
//! container's init narrates), a supervisor killed with `kill -9`, stop
//! signals sent to the supervisor.

mod common;

use common::BIN;
use minibox_testkit::broken_pipe::{closed_stderr_keeps_exit_code, yes_dies_of_sigpipe};
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::supervisor::{assert_stop_signals_passed_on, Supervisor};
use minibox_testkit::{require_root, Rootfs};
use std::process::Command;
use std::time::Duration;

fn ch02(rootfs: &Rootfs, flags: &[&str], argv: &[&str]) -> Command {
    minibox_testkit::chapter_command(BIN, rootfs.path(), flags, argv)
}

#[test]
fn a_closed_stderr_ends_narration_not_the_run() {
    if !require_root("a_closed_stderr_ends_narration_not_the_run") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Run where a leak can show: a mount namespace with an rshared "/".
    let ns = SharedRoot::new();
    let before = ns.mounts_under(rootfs.path());
    for flags in [&["--pid"][..], &["--all"][..], &["--mount", "-v"][..]] {
        // Closed before the first line, in the parent's lines, in the
        // child's and init's (inside the container), and at the very end.
        for lines in [0, 1, 3, 6, 10, 16, 24] {
            let mut cmd = minibox_testkit::chapter_command_in(
                &ns,
                BIN,
                rootfs.path(),
                flags,
                &["sh", "-c", "echo out; exit 7"],
            );
            let run = closed_stderr_keeps_exit_code(&mut cmd, lines, 7, &format!("{flags:?}"));
            assert_eq!(run.other, "out\n", "the command's stdout is intact");
            assert_eq!(ns.mounts_under(rootfs.path()), before, "no mount left");
        }
    }
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell() {
    if !require_root("a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell") {
        return;
    }
    let rootfs = Rootfs::busybox();
    yes_dies_of_sigpipe(&mut ch02(&rootfs, &["--pid", "--quiet"], &["yes"]));
}

/// Starts `ch02 FLAGS -- sleep 30` and waits until the sleep runs under
/// the container's init.
fn start_sleep(rootfs: &Rootfs, flags: &[&str]) -> Supervisor {
    Supervisor::start(
        &mut ch02(rootfs, &[flags, &["--quiet"]].concat(), &["sleep", "30"]),
        2,
        "sleep",
        Duration::from_secs(10),
    )
}

#[test]
fn kill_9_of_the_supervisor_takes_the_container_with_it() {
    if !require_root("kill_9_of_the_supervisor_takes_the_container_with_it") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // --user: the init changes its IDs, which clears PR_SET_PDEATHSIG;
    // --mount alone: no PID namespace, the command must die with init.
    for flags in [
        &["--pid"][..],
        &["--mount"][..],
        &["--user", "--pid"][..],
        &["--all"][..],
    ] {
        let started = start_sleep(&rootfs, flags);
        let below = started.below().to_vec();
        assert_eq!(
            started.kill_9(),
            [],
            "{flags:?}: init and command {below:?} must end with their supervisor"
        );
    }
}

#[test]
fn stop_signals_to_the_supervisor_reach_the_command() {
    if !require_root("stop_signals_to_the_supervisor_reach_the_command") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for flags in [&["--pid"][..], &["--mount"][..]] {
        assert_stop_signals_passed_on(&format!("{flags:?}"), || start_sleep(&rootfs, flags));
    }
}
