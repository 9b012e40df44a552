//! Chapters 02–04 composed: chapter 03's limits hold for a container on an
//! overlay — the OOM killer is reported as such, forks beyond --pids fail —
//! each container gets a cgroup of its own (also with --many), and none
//! outlives the run. The cgroup directories are found by name under whatever
//! cgroup mounts this host has (hybrid here, pure v2 in the VM lane).

mod common;

use common::*;
use minibox_testkit::unique_name;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every cgroup mount point of this host (v1 hierarchies and cgroup2), from our mount table.
fn cgroup_mounts() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let is_cgroup = right.starts_with("cgroup ") || right.starts_with("cgroup2 ");
            is_cgroup
                .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
                .flatten()
        })
        .collect()
}

/// The cgroup directories, in any hierarchy, whose name contains `needle`.
fn cgroups_named(needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for mount in cgroup_mounts() {
        collect_dirs(&mount, needle, 8, &mut found);
    }
    found
}

fn collect_dirs(dir: &Path, needle: &str, depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(needle) {
            found.push(path);
        } else if depth > 0 {
            collect_dirs(&path, needle, depth - 1, found);
        }
    }
}

fn assert_no_cgroup_named(name: &str) {
    let left = cgroups_named(name);
    assert!(left.is_empty(), "cgroups left behind: {left:?}");
}

#[test]
fn a_memory_hog_on_the_overlay_is_oom_killed_and_its_cgroup_removed() {
    if !require_root("a_memory_hog_on_the_overlay_is_oom_killed_and_its_cgroup_removed") {
        return;
    }
    let layers = Layers::new();
    let shared = SharedRoot::new();
    let name = unique_name("ch04-oom");
    // Doubles a shell string 26 times: 64 MiB, and about 130 MiB of memory
    // while the last copy is made — 4× the 32 MiB limit. Then it stops by
    // itself: if the limit did not hold, "survived" fails the test in
    // seconds (even under the VM lane's emulation), and run() has a deadline.
    let hog = "x=a; i=0; while [ $i -lt 26 ]; do x=$x$x; i=$((i+1)); done; echo survived";
    let output = layers.run_in(
        &shared,
        &["--name", &name, "--memory", "32M"],
        &["sh", "-c", hog],
    );
    let (stdout, stderr) = text(&output);
    // The leak first: a run that leaks its overlay also fails to clean up.
    assert_eq!(layers.mounts_in(&shared), Vec::<String>::new());
    assert_exit(&output, 137);
    assert!(!stdout.contains("survived"), "the hog outlived its limit");
    assert!(
        stderr.contains(&format!("{name}: OOMKilled")),
        "stderr:\n{stderr}"
    );
    // The cgroup was made under the container's name, and joined…
    assert!(
        stderr.contains(&format!("/{name}-")) && stderr.contains("/cgroup.procs"),
        "stderr:\n{stderr}"
    );
    // …and nothing of it, nor of the overlay, is left.
    assert_no_cgroup_named(&name);
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
}

#[test]
fn forks_beyond_the_pids_limit_are_refused_on_the_overlay() {
    if !require_root("forks_beyond_the_pids_limit_are_refused_on_the_overlay") {
        return;
    }
    let layers = Layers::new();
    let name = unique_name("ch04-pids");
    // 30 short sleeps in the background: at most 8 tasks may exist at once
    // (init and the shell count too), so the shell's fork() fails with EAGAIN.
    let forks = "for i in $(seq 1 30); do sleep 1 & done; wait; echo all forked";
    let output = layers.run(&["--name", &name, "--pids", "8"], &["sh", "-c", forks]);
    let (stdout, stderr) = text(&output);
    // fork() failed with EAGAIN, and busybox sh gives up (exit 2).
    assert!(
        stderr.contains("can't fork: Resource temporarily unavailable"),
        "stderr:\n{stderr}"
    );
    assert!(!stdout.contains("all forked"), "stdout:\n{stdout}");
    assert!(!stderr.contains("OOMKilled"), "stderr:\n{stderr}");
    // The limit was the container's, not ours: the host still forks.
    let host = std::process::Command::new("/bin/busybox")
        .arg("true")
        .status();
    assert!(host.is_ok_and(|s| s.success()), "the host cannot fork");
    assert_no_cgroup_named(&name);
}

#[test]
fn each_of_many_containers_gets_its_own_cgroup_and_none_is_left() {
    if !require_root("each_of_many_containers_gets_its_own_cgroup_and_none_is_left") {
        return;
    }
    let layers = Layers::new();
    let name = unique_name("ch04-many");
    let mut child = layers
        .command()
        .args(["-q", "--many", "2", "--name", &name, "--pids", "16"])
        .args(["--", "sleep", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // While they run: one cgroup per container, NAME-1-PID and NAME-2-PID.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ids = loop {
        let ids: BTreeSet<String> = cgroups_named(&name)
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        if ids.len() >= 2 || Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = wait_within(&mut child, DEADLINE, "ch04-overlay --many 2");
    let supervisor = child.id();
    let expected: BTreeSet<String> = [1, 2]
        .iter()
        .map(|i| format!("{name}-{i}-{supervisor}"))
        .collect();
    assert_eq!(ids, expected, "one cgroup per container");
    assert_eq!(status.code(), Some(0));
    assert_no_cgroup_named(&name);
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
}

#[test]
fn the_cgroup_goes_however_the_container_ends() {
    if !require_root("the_cgroup_goes_however_the_container_ends") {
        return;
    }
    let layers = Layers::new();
    for (argv, code) in [
        (&["true"][..], 0),
        (&["sh", "-c", "exit 7"][..], 7),
        (&["sh", "-c", "kill -9 $$"][..], 137),
        (&["/no/such/command"][..], 127),
    ] {
        let name = unique_name("ch04-paths");
        let output = layers.run(&["--name", &name, "--memory", "64M", "--pids", "32"], argv);
        assert_exit(&output, code);
        let (_, stderr) = text(&output);
        assert!(
            !stderr.contains("OOMKilled"),
            "{argv:?}: a SIGKILL from someone else is no OOM kill:\n{stderr}"
        );
        assert_no_cgroup_named(&name);
        assert!(
            layers.kept().is_empty(),
            "{argv:?} left {:?}",
            layers.kept()
        );
    }
}
