//! The cgroup library on plain child processes, on whatever layout this
//! host has (hybrid here, pure v2 in the VM lane): limits land in the right
//! files, a gated child joins before it runs, freeze/thaw/kill work on the
//! whole group, and every directory is gone afterwards — error paths included.

mod common;

use ch01_chroot::Narrator;
use ch03_cgroups::{Cgroup, CgroupLayout, Limits, Placement, Version};
use common::bounded::wait_within;
use minibox_testkit::{require_root, unique_name};
use nix::unistd::Pid;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn busybox() -> PathBuf {
    ch01_chroot::rootfs::find_busybox().unwrap_or_else(|e| panic!("{e}"))
}

fn new_cgroup(limits: Limits) -> Cgroup {
    let layout = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"));
    let placement =
        Placement::new(&unique_name("ch03-lib"), None).unwrap_or_else(|e| panic!("{e}"));
    Cgroup::create(&layout, &placement, &limits, &Narrator::silent())
        .unwrap_or_else(|e| panic!("creating the cgroup: {e}"))
}

/// A busybox shell that waits for one line on stdin before it runs `script`,
/// so the test can put it into the cgroup first (the same order chapter 02's
/// gate gives the real container).
struct GatedChild {
    child: Child,
}

impl GatedChild {
    fn start(script: &str) -> GatedChild {
        let child = Command::new(busybox())
            .args(["sh", "-c", &format!("read go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting busybox sh: {e}"));
        GatedChild { child }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn release(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            stdin
                .write_all(b"go\n")
                .unwrap_or_else(|e| panic!("releasing the child: {e}"));
        }
    }

    /// Bounded: a child the test failed to stop is stopped, and the test fails.
    fn wait(mut self) -> std::process::ExitStatus {
        wait_within(&mut self.child, Duration::from_secs(20), "the gated child")
    }
}

impl Drop for GatedChild {
    fn drop(&mut self) {
        // Only our own child, and only if it is still there.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn limits_land_in_the_files_of_this_hosts_cgroup_version() {
    if !require_root("limits_land_in_the_files_of_this_hosts_cgroup_version") {
        return;
    }
    let limits = Limits {
        memory_bytes: Some(64 << 20),
        cpus: Some(0.5),
        cpu_weight: Some(200),
        pids: Some(16),
    };
    let cgroup = new_cgroup(limits);
    let dirs: Vec<PathBuf> = cgroup.dirs().iter().map(|d| d.path.clone()).collect();
    assert!(!dirs.is_empty());
    let memory = cgroup.dir_for("memory").expect("a memory cgroup");
    let cpu = cgroup.dir_for("cpu").expect("a cpu cgroup");
    let pids = cgroup.dir_for("pids").expect("a pids cgroup");
    match memory.version {
        Version::V2 => assert_eq!(read(&memory.path.join("memory.max")), "67108864"),
        Version::V1 => assert_eq!(read(&memory.path.join("memory.limit_in_bytes")), "67108864"),
    }
    match cpu.version {
        Version::V2 => {
            assert_eq!(read(&cpu.path.join("cpu.max")), "50000 100000");
            assert_eq!(read(&cpu.path.join("cpu.weight")), "200");
        }
        Version::V1 => {
            assert_eq!(read(&cpu.path.join("cpu.cfs_quota_us")), "50000");
            assert_eq!(read(&cpu.path.join("cpu.cfs_period_us")), "100000");
            assert_eq!(
                read(&cpu.path.join("cpu.shares")),
                limits.cpu_shares().expect("shares").to_string()
            );
        }
    }
    assert_eq!(read(&pids.path.join("pids.max")), "16");

    cgroup.remove().unwrap_or_else(|e| panic!("removing: {e}"));
    for dir in dirs {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}

#[test]
fn a_gated_child_is_inside_before_it_runs_and_is_counted() {
    if !require_root("a_gated_child_is_inside_before_it_runs_and_is_counted") {
        return;
    }
    let cgroup = new_cgroup(Limits::default());
    let mut child = GatedChild::start("exec sleep 30");
    cgroup
        .join(child.pid())
        .unwrap_or_else(|e| panic!("joining: {e}"));
    assert_eq!(cgroup.procs(), vec![child.pid()]);
    // /proc/PID/cgroup names our cgroup in every hierarchy we used.
    let membership = read(Path::new(&format!("/proc/{}/cgroup", child.pid())));
    assert!(
        membership.contains(cgroup.id()),
        "child not in {}: {membership}",
        cgroup.id()
    );
    child.release();
    // Pages the process touches from now on are charged here (on v1, what
    // it had before joining stays charged to the old cgroup).
    wait_until("memory to be charged", Duration::from_secs(5), || {
        cgroup.stats().memory_current.unwrap_or(0) > 0
    });
    let stats = cgroup.stats();
    assert!(stats.cpu_usage.is_some(), "{stats:?}");
    assert_eq!(stats.pids_current, Some(1), "{stats:?}");

    cgroup
        .kill_and_wait(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("killing: {e}"));
    let status = child.wait();
    assert!(!status.success());
    cgroup.remove().unwrap_or_else(|e| panic!("removing: {e}"));
}

#[test]
fn freeze_stops_progress_and_thaw_resumes_it() {
    if !require_root("freeze_stops_progress_and_thaw_resumes_it") {
        return;
    }
    let cgroup = new_cgroup(Limits::default());
    let counter = tempfile::NamedTempFile::new().expect("temp file");
    let path = counter.path().to_path_buf();
    // Counts as fast as it can, writing each number to the file.
    let mut child = GatedChild::start(&format!(
        "i=0; while :; do i=$((i+1)); echo $i > {}; done",
        path.display()
    ));
    cgroup
        .join(child.pid())
        .unwrap_or_else(|e| panic!("joining: {e}"));
    child.release();
    let count = || -> u64 {
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_until("the counter to start", Duration::from_secs(5), || {
        count() > 10
    });

    cgroup.freeze().unwrap_or_else(|e| panic!("freezing: {e}"));
    assert!(cgroup.is_frozen());
    let frozen_at = count();
    let cpu_at = cgroup.stats().cpu_usage;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(), frozen_at, "the counter moved while frozen");
    assert_eq!(
        cgroup.stats().cpu_usage,
        cpu_at,
        "CPU time grew while frozen"
    );

    cgroup.thaw().unwrap_or_else(|e| panic!("thawing: {e}"));
    assert!(!cgroup.is_frozen());
    wait_until("the counter to move again", Duration::from_secs(5), || {
        count() > frozen_at
    });

    cgroup
        .kill_and_wait(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("killing: {e}"));
    drop(child);
    cgroup.remove().unwrap_or_else(|e| panic!("removing: {e}"));
}

#[test]
fn kill_reaches_every_process_in_the_group() {
    if !require_root("kill_reaches_every_process_in_the_group") {
        return;
    }
    let cgroup = new_cgroup(Limits::default());
    let mut child = GatedChild::start("sleep 30 & sleep 30 & sleep 30 & wait");
    cgroup
        .join(child.pid())
        .unwrap_or_else(|e| panic!("joining: {e}"));
    child.release();
    wait_until("four processes", Duration::from_secs(5), || {
        cgroup.procs().len() == 4
    });
    let grandchildren: Vec<Pid> = cgroup
        .procs()
        .into_iter()
        .filter(|p| *p != child.pid())
        .collect();

    cgroup.kill().unwrap_or_else(|e| panic!("killing: {e}"));
    let status = child.wait();
    assert!(!status.success());
    // The sleeps were reparented to init (or a subreaper), never to us: they
    // must be gone from the cgroup, and from the system.
    wait_until("the group to empty", Duration::from_secs(5), || {
        cgroup.procs().is_empty()
    });
    for pid in grandchildren {
        wait_until("a grandchild to vanish", Duration::from_secs(5), || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || read(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z ")
        });
    }
    cgroup.remove().unwrap_or_else(|e| panic!("removing: {e}"));
}

#[test]
fn dropping_the_cgroup_kills_what_is_inside_and_removes_it() {
    if !require_root("dropping_the_cgroup_kills_what_is_inside_and_removes_it") {
        return;
    }
    let cgroup = new_cgroup(Limits {
        pids: Some(8),
        ..Limits::default()
    });
    let dirs: Vec<PathBuf> = cgroup.dirs().iter().map(|d| d.path.clone()).collect();
    let mut child = GatedChild::start("exec sleep 30");
    cgroup
        .join(child.pid())
        .unwrap_or_else(|e| panic!("joining: {e}"));
    child.release();
    // An error path: the owner goes away without calling remove().
    drop(cgroup);
    for dir in &dirs {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
    let status = child.wait();
    assert!(!status.success(), "the child should have been killed");
}

#[test]
fn bad_limits_fail_before_any_directory_exists() {
    if !require_root("bad_limits_fail_before_any_directory_exists") {
        return;
    }
    let layout = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"));
    let id = unique_name("ch03-bad");
    let placement = Placement::new(&id, None).unwrap_or_else(|e| panic!("{e}"));
    let limits = Limits {
        cpu_weight: Some(0),
        ..Limits::default()
    };
    let err = Cgroup::create(&layout, &placement, &limits, &Narrator::silent())
        .expect_err("weight 0 is invalid");
    assert!(err.to_string().contains("--cpu-weight"), "{err}");
    let mount_points = layout
        .v1
        .iter()
        .map(|h| h.mount_point.clone())
        .chain(layout.v2.iter().map(|v| v.mount_point.clone()));
    for mount in mount_points {
        let found = Command::new(busybox())
            .args([
                "find",
                &mount.display().to_string(),
                "-maxdepth",
                "6",
                "-type",
                "d",
                "-name",
                &id,
            ])
            .output()
            .expect("find");
        assert!(
            found.stdout.is_empty(),
            "{id} exists under {}",
            mount.display()
        );
    }
}
