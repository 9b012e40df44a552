//! Chapter 04 under the hard cases: a reader that goes away at any point of
//! a run (layer, mount and cgroup must still go), and a supervisor killed
//! with `kill -9` (the container goes with it; the next run removes the
//! writable layer and the cgroup it left).

mod common;

use common::*;
use minibox_testkit::bounded::{children_of, gone_by};
use minibox_testkit::broken_pipe::{close_after_lines, Stream};
use minibox_testkit::{cgroup_dirs_named, unique_name};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_closed_stderr_ends_narration_and_nothing_is_left() {
    if !require_root("a_closed_stderr_ends_narration_and_nothing_is_left") {
        return;
    }
    let layers = Layers::new();
    let before = mount_table();
    for (flags, lines) in [
        (&[][..], 0),
        (&[][..], 2),
        (&["--memory", "32M"][..], 4),
        (&["--memory", "32M"][..], 9),
        (&["--memory", "32M", "-v"][..], 30),
        (&["--many", "2"][..], 12),
    ] {
        let name = unique_name("ch04-epipe");
        let mut cmd = layers.command();
        cmd.env("NO_COLOR", "1")
            .args(["--name", &name])
            .args(flags)
            .args(["--", "sh", "-c", "echo x > /new; echo out; exit 7"]);
        let run = close_after_lines(&mut cmd, Stream::Stderr, lines, DEADLINE);
        assert_eq!(
            run.status.code(),
            Some(7),
            "{flags:?}, stderr closed after {lines} line(s): {:?} (101: a panic, 134: an abort); read {:?}",
            run.status,
            run.lines
        );
        assert!(run.other.starts_with("out\n"), "{}", run.other);
        assert!(
            layers.kept().is_empty(),
            "{flags:?} left {:?}",
            layers.kept()
        );
        let leaked: Vec<PathBuf> = cgroup_dirs_named(&format!("{name}-{}", run.pid))
            .into_iter()
            .chain(cgroup_dirs_named(&format!("{name}-1-{}", run.pid)))
            .collect();
        assert_eq!(leaked, Vec::<PathBuf>::new(), "{flags:?}");
    }
    assert_eq!(mount_table(), before, "no mount left");
}

#[test]
fn a_closed_stdout_ends_the_command_by_sigpipe_and_nothing_is_left() {
    if !require_root("a_closed_stdout_ends_the_command_by_sigpipe_and_nothing_is_left") {
        return;
    }
    let layers = Layers::new();
    let name = unique_name("ch04-stdout");
    let mut cmd = layers.command();
    cmd.env("NO_COLOR", "1")
        .args(["--name", &name, "--memory", "32M", "--", "yes"]);
    let run = close_after_lines(&mut cmd, Stream::Stdout, 3, DEADLINE);
    assert_eq!(run.lines, ["y", "y", "y"]);
    assert_eq!(
        run.status.code(),
        Some(128 + 13),
        "{:?}: {}",
        run.status,
        run.other
    );
    assert!(layers.kept().is_empty(), "left {:?}", layers.kept());
    assert_eq!(
        cgroup_dirs_named(&format!("{name}-{}", run.pid)),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn kill_9_takes_the_container_along_and_the_next_run_removes_its_leftovers() {
    if !require_root("kill_9_takes_the_container_along_and_the_next_run_removes_its_leftovers") {
        return;
    }
    let layers = Layers::new();
    let name = unique_name("ch04-kill9");
    let mut child = layers
        .command()
        .args([
            "--name", &name, "--memory", "32M", "-q", "--", "sleep", "30",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting ch04-overlay: {e}"));
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
    // What a kill -9 cannot help leaving: the writable layer and the cgroup.
    let cgroup = format!("{name}-{supervisor}");
    let left = layers.kept();
    assert_eq!(left.len(), 1, "the writable layer stays: {left:?}");
    assert!(!cgroup_dirs_named(&cgroup).is_empty(), "the cgroup stays");
    assert!(
        mounts_under(layers.state.path()).is_empty(),
        "no mount stays"
    );

    // The next run sweeps them (a cgroup only once it is a few seconds old:
    // a program that takes no lock may be about to move a process in).
    std::thread::sleep(ch03_cgroups::stale::SWEEP_GRACE);
    let output = layers.run(&["--memory", "32M"], &["true"]);
    assert_exit(&output, 0);
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains(&format!(
            "removed {}: left behind by a run that was killed (its owner is gone)",
            left[0].display()
        )),
        "{stderr}"
    );
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
    assert_eq!(cgroup_dirs_named(&cgroup), Vec::<PathBuf>::new());
}

#[test]
fn a_kept_layer_is_no_leftover() {
    if !require_root("a_kept_layer_is_no_leftover") {
        return;
    }
    let layers = Layers::new();
    assert_exit(&layers.run(&["--keep", "-q"], &["true"]), 0);
    let kept = layers.kept();
    assert_eq!(kept.len(), 1);
    assert_exit(&layers.run(&["-q"], &["true"]), 0);
    assert_eq!(
        layers.kept(),
        kept,
        "--keep means keep, also for the next run"
    );
}
