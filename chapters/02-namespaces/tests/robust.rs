//! Chapter 02 under the hard cases: a reader that goes away (also while the
//! container's init narrates), a supervisor killed with `kill -9`, stop
//! signals sent to the supervisor.

mod common;

use common::{first_child, host_mounts_under, BIN};
use minibox_testkit::bounded::{gone_by, is_alive, wait_within, DEADLINE};
use minibox_testkit::broken_pipe::{close_after_lines, Stream};
use minibox_testkit::{require_root, Rootfs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn ch02(rootfs: &Rootfs, flags: &[&str], argv: &[&str]) -> Command {
    minibox_testkit::chapter_command(BIN, rootfs.path(), flags, argv)
}

#[test]
fn a_closed_stderr_ends_narration_not_the_run() {
    if !require_root("a_closed_stderr_ends_narration_not_the_run") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let before = host_mounts_under(rootfs.path());
    for flags in [&["--pid"][..], &["--all"][..], &["--mount", "-v"][..]] {
        // Closed before the first line, in the parent's lines, in the
        // child's and init's (inside the container), and at the very end.
        for lines in [0, 1, 3, 6, 10, 16, 24] {
            let run = close_after_lines(
                &mut ch02(&rootfs, flags, &["sh", "-c", "echo out; exit 7"]),
                Stream::Stderr,
                lines,
                DEADLINE,
            );
            assert_eq!(
                run.status.code(),
                Some(7),
                "{flags:?}, stderr closed after {lines} line(s): {:?} (101: a panic, 134: an abort); read {:?}",
                run.status,
                run.lines
            );
            assert_eq!(run.other, "out\n", "the command's stdout is intact");
            assert_eq!(host_mounts_under(rootfs.path()), before, "no mount left");
        }
    }
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell() {
    if !require_root("a_closed_stdout_ends_the_command_by_sigpipe_as_in_a_shell") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let run = close_after_lines(
        &mut ch02(&rootfs, &["--pid", "--quiet"], &["yes"]),
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
}

/// A running `ch02 FLAGS -- sleep 30`: the supervisor and the container's processes.
struct Started {
    child: Child,
    init: Pid,
    command: Pid,
}

// The caller waits for the child it gets back.
#[allow(clippy::zombie_processes)]
fn start_sleep(rootfs: &Rootfs, flags: &[&str]) -> Started {
    let mut child = ch02(rootfs, &[flags, &["--quiet"]].concat(), &["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {BIN}: {e}"));
    let supervisor = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(init) = first_child(supervisor) {
            if let Some(command) = first_child(init) {
                let comm =
                    std::fs::read_to_string(format!("/proc/{command}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" {
                    return Started {
                        child,
                        init: Pid::from_raw(init),
                        command: Pid::from_raw(command),
                    };
                }
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{flags:?}: the container never started");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
        let Started {
            mut child,
            init,
            command,
        } = start_sleep(&rootfs, flags);
        let _ = child.kill(); // SIGKILL: no handler, no cleanup
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(1);
        let gone = [init, command].map(|pid| gone_by(pid, deadline));
        for pid in [init, command] {
            let _ = kill(pid, Signal::SIGKILL);
        }
        assert_eq!(
            gone,
            [true, true],
            "{flags:?}: init {init} and command {command} must end with their supervisor"
        );
    }
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
        for flags in [&["--pid"][..], &["--mount"][..]] {
            let Started {
                mut child,
                init,
                command,
            } = start_sleep(&rootfs, flags);
            kill(Pid::from_raw(child.id() as i32), signal).unwrap_or_else(|e| panic!("kill: {e}"));
            let status = wait_within(&mut child, Duration::from_secs(10), "ch02-namespaces");
            assert_eq!(
                status.code(),
                Some(128 + signal as i32),
                "{flags:?} {signal}: the command got it and the supervisor reported it"
            );
            assert!(!is_alive(command) && !is_alive(init), "{flags:?} {signal}");
        }
    }
}
