//! Chapter 04 under the hard cases: a reader that goes away at any point of
//! a run (layer, mount and cgroup must still go), and a supervisor killed
//! with `kill -9` (the container goes with it; the next run removes the
//! writable layer and the cgroup it left).

mod common;

use common::*;
use minibox_testkit::broken_pipe::{closed_stderr_keeps_exit_code, yes_dies_of_sigpipe};
use minibox_testkit::supervisor::Supervisor;
use minibox_testkit::{cgroup_dirs_named, unique_name};
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn a_closed_stderr_ends_narration_and_nothing_is_left() {
    if !require_root("a_closed_stderr_ends_narration_and_nothing_is_left") {
        return;
    }
    let layers = Layers::new();
    let shared = SharedRoot::new();
    for (flags, lines) in [
        (&[][..], 0),
        (&[][..], 2),
        (&["--memory", "32M"][..], 4),
        (&["--memory", "32M"][..], 9),
        (&["--memory", "32M", "-v"][..], 30),
        (&["--many", "2"][..], 12),
    ] {
        let name = unique_name("ch04-epipe");
        let mut cmd = layers.command_in(&shared);
        cmd.env("NO_COLOR", "1")
            .args(["--name", &name])
            .args(flags)
            .args(["--", "sh", "-c", "echo x > /new; echo out; exit 7"]);
        let run = closed_stderr_keeps_exit_code(&mut cmd, lines, 7, &format!("{flags:?}"));
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
        assert_eq!(
            layers.mounts_in(&shared),
            Vec::<String>::new(),
            "{flags:?}: a mount was left"
        );
    }
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
    let run = yes_dies_of_sigpipe(&mut cmd);
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
    let shared = SharedRoot::new();
    let name = unique_name("ch04-kill9");
    let mut cmd = layers.command_in(&shared);
    cmd.args([
        "--name", &name, "--memory", "32M", "-q", "--", "sleep", "30",
    ]);
    let started = Supervisor::start(&mut cmd, 2, "sleep", Duration::from_secs(20));
    let supervisor = started.pid();
    assert_eq!(
        started.kill_9(),
        [],
        "the container outlived its supervisor"
    );
    // What a kill -9 cannot help leaving: the writable layer and the cgroup.
    let cgroup = format!("{name}-{supervisor}");
    let left = layers.kept();
    assert_eq!(left.len(), 1, "the writable layer stays: {left:?}");
    assert!(!cgroup_dirs_named(&cgroup).is_empty(), "the cgroup stays");
    assert_eq!(
        layers.mounts_in(&shared),
        Vec::<String>::new(),
        "no mount stays"
    );

    // The next run sweeps them (a cgroup only once it is a few seconds old:
    // a program that takes no lock may be about to move a process in).
    std::thread::sleep(ch03_cgroups::stale::SWEEP_GRACE);
    let output = layers.run_in(&shared, &["--memory", "32M"], &["true"]);
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
    assert_eq!(layers.mounts_in(&shared), Vec::<String>::new());
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
