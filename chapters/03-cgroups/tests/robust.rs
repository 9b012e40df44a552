//! Chapter 03 under the hard cases: a reader that goes away at any point of
//! a run (the cgroup must still go), and a supervisor killed with `kill -9`
//! (the container goes with it; the next run with the same name works).

use minibox_testkit::bounded::{children_of, gone_by, output_within, DEADLINE};
use minibox_testkit::broken_pipe::{close_after_lines, Stream};
use minibox_testkit::{cgroup_dirs_named, require_root, text, unique_name, Rootfs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ch03-cgroups");

fn ch03(rootfs: &Rootfs, name: &str, flags: &[&str], argv: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("NO_COLOR", "1")
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--name", name])
        .args(flags)
        .arg("--")
        .args(argv);
    cmd
}

#[test]
fn a_closed_stderr_ends_narration_and_the_cgroup_still_goes() {
    if !require_root("a_closed_stderr_ends_narration_and_the_cgroup_still_goes") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Before the first line; while the cgroup is made; while the container
    // starts (lines from inside it); in the report; with -v at the very end.
    for (flags, lines) in [
        (&["--memory", "32M"][..], 0),
        (&["--memory", "32M"][..], 2),
        (&["--memory", "32M"][..], 5),
        (&["--memory", "32M", "--pids", "16"][..], 12),
        (&["--memory", "32M"][..], 20),
        (&["--memory", "32M", "-v"][..], 40),
    ] {
        let name = unique_name("ch03-epipe");
        let run = close_after_lines(
            &mut ch03(&rootfs, &name, flags, &["sh", "-c", "echo out; exit 7"]),
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
        assert_eq!(run.other, "out\n");
        assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
    }
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_and_the_cgroup_still_goes() {
    if !require_root("a_closed_stdout_ends_the_command_by_sigpipe_and_the_cgroup_still_goes") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let name = unique_name("ch03-stdout");
    let run = close_after_lines(
        &mut ch03(&rootfs, &name, &["--memory", "32M"], &["yes"]),
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
    assert!(
        run.other.contains("command killed by SIGPIPE"),
        "{}",
        run.other
    );
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}

#[test]
fn kill_9_takes_the_container_along_and_the_same_name_runs_again() {
    if !require_root("kill_9_takes_the_container_along_and_the_same_name_runs_again") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let name = unique_name("ch03-kill9");
    let mut child = ch03(&rootfs, &name, &["--memory", "32M", "-q"], &["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {BIN}: {e}"));
    let supervisor = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (init, command) = loop {
        let init = children_of(supervisor).first().copied();
        let command = init.and_then(|init| children_of(init).first().copied());
        let sleeping = command.is_some_and(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        });
        if let (Some(init), Some(command), true) = (init, command, sleeping) {
            break (init, command);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the container never started");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = child.kill();
    let _ = child.wait();
    let gone = [init, command].map(|pid| gone_by(pid, Instant::now() + Duration::from_secs(1)));
    for pid in [init, command] {
        let _ = kill(pid, Signal::SIGKILL);
    }
    assert_eq!(gone, [true, true], "the container outlived its supervisor");
    // What a kill -9 cannot help leaving: the cgroup directories.
    assert!(!cgroup_dirs_named(&name).is_empty(), "the leftover exists");

    // The same name again: the leftover is recognised and replaced.
    let out = output_within(
        &mut ch03(&rootfs, &name, &["--memory", "32M"], &["true"]),
        DEADLINE,
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("left behind by a run that was killed (no owner, no process inside)"),
        "{stderr}"
    );
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_running_containers_name_is_refused_not_stolen() {
    if !require_root("a_running_containers_name_is_refused_not_stolen") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let name = unique_name("ch03-twice");
    let mut first = ch03(&rootfs, &name, &["-q"], &["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {BIN}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while cgroup_dirs_named(&name).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = output_within(&mut ch03(&rootfs, &name, &["-q"], &["true"]), DEADLINE);
    let _ = kill(Pid::from_raw(first.id() as i32), Signal::SIGTERM);
    let _ = minibox_testkit::bounded::wait_within(&mut first, DEADLINE, BIN);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("is in use (a running supervisor owns it): a container of this name is running — choose another --name, or stop that one first"),
        "{stderr}"
    );
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}
