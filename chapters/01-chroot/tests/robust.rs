//! Chapter 01 under the hard cases: a reader that goes away, a supervisor
//! killed with `kill -9`, stop signals sent to the supervisor.

use minibox_testkit::bounded::{gone_by, is_alive, wait_within, DEADLINE};
use minibox_testkit::broken_pipe::{close_after_lines, Stream};
use minibox_testkit::{require_root, Rootfs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
        let run = close_after_lines(
            &mut ch01(&rootfs, &[], &["sh", "-c", "echo out; exit 7"]),
            Stream::Stderr,
            lines,
            DEADLINE,
        );
        assert_eq!(
            run.status.code(),
            Some(7),
            "stderr closed after {lines} line(s): {:?} (101 is a panic); read {:?}",
            run.status,
            run.lines
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
    let run = close_after_lines(
        &mut ch01(&rootfs, &[], &["yes"]),
        Stream::Stdout,
        3,
        DEADLINE,
    );
    assert_eq!(run.lines, ["y", "y", "y"]);
    assert_eq!(
        run.status.code(),
        Some(128 + 13),
        "{:?}: {}",
        run.status,
        run.other
    );
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

/// Starts `ch01 … -- sleep 30` and returns it with the PID of the sleep.
// The caller waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_sleep(rootfs: &Rootfs) -> (std::process::Child, Pid) {
    let mut child = ch01(rootfs, &["--quiet"], &["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting ch01-chroot: {e}"));
    let supervisor = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sleeping = minibox_testkit::bounded::children_of(supervisor)
            .into_iter()
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "sleep")
            });
        if let Some(pid) = sleeping {
            return (child, pid);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command never started");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_9_of_the_supervisor_takes_the_command_with_it() {
    if !require_root("kill_9_of_the_supervisor_takes_the_command_with_it") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let (mut child, command) = start_sleep(&rootfs);
    let _ = child.kill(); // SIGKILL: no handler, no cleanup
    let _ = child.wait();
    let gone = gone_by(command, Instant::now() + Duration::from_secs(1));
    if !gone {
        let _ = kill(command, Signal::SIGKILL);
    }
    assert!(gone, "the command (PID {command}) outlived its supervisor");
}

#[test]
fn stop_signals_to_the_supervisor_reach_the_command() {
    if !require_root("stop_signals_to_the_supervisor_reach_the_command") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        let (mut child, command) = start_sleep(&rootfs);
        kill(Pid::from_raw(child.id() as i32), signal).unwrap_or_else(|e| panic!("kill: {e}"));
        let status = wait_within(&mut child, Duration::from_secs(10), "ch01-chroot");
        assert_eq!(
            status.code(),
            Some(128 + signal as i32),
            "{signal}: the command got it and the supervisor reported it"
        );
        assert!(!is_alive(command), "{signal}: the command ended");
    }
}
