//! Chapter 01 under the hard cases: a reader that goes away, a supervisor
//! killed with `kill -9`, stop signals sent to the supervisor.

use minibox_testkit::bounded::DEADLINE;
use minibox_testkit::broken_pipe::{closed_stderr_keeps_exit_code, yes_dies_of_sigpipe};
use minibox_testkit::supervisor::{assert_stop_signals_passed_on, Supervisor};
use minibox_testkit::{require_root, Rootfs};
use std::process::Command;
use std::time::Duration;

fn ch01(rootfs: &Rootfs, flags: &[&str], argv: &[&str]) -> Command {
    minibox_testkit::chapter_command(
        env!("CARGO_BIN_EXE_ch01-chroot"),
        rootfs.path(),
        flags,
        argv,
    )
}

#[test]
fn a_closed_stderr_ends_narration_not_the_run() {
    if !require_root("a_closed_stderr_ends_narration_not_the_run") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Closed before the first line, after a few, and late (the last lines
    // come from the child, and after it ended).
    for lines in [0, 1, 3, 5, 7] {
        let run = closed_stderr_keeps_exit_code(
            &mut ch01(&rootfs, &[], &["sh", "-c", "echo out; exit 7"]),
            lines,
            7,
            "ch01-chroot",
        );
        assert_eq!(run.other, "out\n", "the command's stdout is intact");
    }
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell() {
    if !require_root("a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // `yes` dies of SIGPIPE (141) once nobody reads: the default a shell
    // gives its commands. Inherited as "ignored" from us, it would print
    // "Broken pipe" and exit 1 instead.
    let run = yes_dies_of_sigpipe(&mut ch01(&rootfs, &[], &["yes"]));
    assert!(!run.other.contains("Broken pipe"), "{}", run.other);
    // And inside a pipeline of the container's own.
    let out = minibox_testkit::bounded::output_within(
        &mut ch01(
            &rootfs,
            &["--quiet"],
            &["sh", "-c", "(yes; echo \"yes ended: $?\" >&2) | head -n 1"],
        ),
        DEADLINE,
    );
    let (stdout, stderr) = minibox_testkit::text(&out);
    assert_eq!(stdout, "y\n");
    assert!(stderr.contains("yes ended: 141"), "{stderr}");
}

/// Starts `ch01 … -- sleep 30` and waits until the sleep runs (as the
/// supervisor's child: chapter 01 has no init).
fn start_sleep(rootfs: &Rootfs) -> Supervisor {
    Supervisor::start(
        &mut ch01(rootfs, &["--quiet"], &["sleep", "30"]),
        1,
        "sleep",
        Duration::from_secs(10),
    )
}

#[test]
fn kill_9_of_the_supervisor_takes_the_command_with_it() {
    if !require_root("kill_9_of_the_supervisor_takes_the_command_with_it") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let outlived = start_sleep(&rootfs).kill_9();
    assert!(
        outlived.is_empty(),
        "the command (PID {outlived:?}) outlived its supervisor"
    );
}

#[test]
fn stop_signals_to_the_supervisor_reach_the_command() {
    if !require_root("stop_signals_to_the_supervisor_reach_the_command") {
        return;
    }
    let rootfs = Rootfs::busybox();
    assert_stop_signals_passed_on("ch01-chroot", || start_sleep(&rootfs));
}
