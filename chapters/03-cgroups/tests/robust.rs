//! Chapter 03 under the hard cases: a reader that goes away at any point of
//! a run (the cgroup must still go), and a supervisor killed with `kill -9`
//! (the container goes with it; the next run with the same name works).

use minibox_testkit::bounded::{output_within, DEADLINE};
use minibox_testkit::broken_pipe::{closed_stderr_keeps_exit_code, yes_dies_of_sigpipe};
use minibox_testkit::supervisor::Supervisor;
use minibox_testkit::{cgroup_dirs_named, require_root, text, unique_name, Rootfs};
use nix::sys::signal::Signal;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ch03-cgroups");

fn ch03(rootfs: &Rootfs, name: &str, flags: &[&str], argv: &[&str]) -> Command {
    let flags = [&["--name", name][..], flags].concat();
    minibox_testkit::chapter_command(BIN, rootfs.path(), &flags, argv)
}

/// Starts `ch03 --name NAME FLAGS -- sleep 30` and waits until the sleep
/// runs under the container's init.
fn start_sleep(rootfs: &Rootfs, name: &str, flags: &[&str]) -> Supervisor {
    Supervisor::start(
        &mut ch03(rootfs, name, flags, &["sleep", "30"]),
        2,
        "sleep",
        Duration::from_secs(20),
    )
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
        let run = closed_stderr_keeps_exit_code(
            &mut ch03(&rootfs, &name, flags, &["sh", "-c", "echo out; exit 7"]),
            lines,
            7,
            &format!("{flags:?}"),
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
    let run = yes_dies_of_sigpipe(&mut ch03(&rootfs, &name, &["--memory", "32M"], &["yes"]));
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
    let started = start_sleep(&rootfs, &name, &["--memory", "32M", "-q"]);
    assert_eq!(
        started.kill_9(),
        [],
        "the container outlived its supervisor"
    );
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
    // Running: its command is in the cgroup, so the cgroup is there.
    let mut first = start_sleep(&rootfs, &name, &["-q"]);
    let out = output_within(&mut ch03(&rootfs, &name, &["-q"], &["true"]), DEADLINE);
    first.signal(Signal::SIGTERM, DEADLINE);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("is in use (a running supervisor owns it): a container of this name is running — choose another --name, or stop that one first"),
        "{stderr}"
    );
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}
