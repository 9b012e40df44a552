//! `minibox doctor` must describe the machine it runs on — checked against
//! the raw facts in /proc/self/mountinfo, read here independently.

#![allow(clippy::expect_used)]

use minibox_testkit::{require_root, run, text};
use std::process::Command;

fn doctor_json() -> serde_json::Value {
    let out = run(Command::new(env!("CARGO_BIN_EXE_minibox")).args(["doctor", "--json"]));
    let (stdout, stderr) = text(&out);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {stdout}\n{stderr}"))
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

/// (v1 hierarchies with controllers, cgroup2 mount points) straight from mountinfo.
fn cgroup_mounts() -> (usize, Vec<String>) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut v1 = 0;
    let mut v2 = Vec::new();
    for line in mountinfo.lines() {
        let (left, right) = line.split_once(" - ").expect("separator");
        let fstype = right.split_whitespace().next().unwrap_or_default();
        let mount_point = left
            .split_whitespace()
            .nth(4)
            .unwrap_or_default()
            .to_string();
        let super_options = right.split_whitespace().nth(2).unwrap_or_default();
        if fstype == "cgroup2" {
            v2.push(mount_point);
        } else if fstype == "cgroup"
            && super_options
                .split(',')
                .any(|o| o != "rw" && !o.starts_with("name=") && o != "ro")
        {
            v1 += 1;
        }
    }
    (v1, v2)
}

#[test]
fn doctor_reports_the_cgroup_layout_of_this_host() {
    let report = doctor_json();
    let cgroups = check(&report, "cgroups");
    let found = cgroups["found"].as_str().expect("found");
    let details = cgroups["details"].to_string();
    match cgroup_mounts() {
        (0, v2) if !v2.is_empty() => {
            assert!(
                found.starts_with("unified"),
                "pure v2 host reported as {found}"
            );
        }
        (v1, v2) if v1 > 0 && !v2.is_empty() => {
            assert!(
                found.starts_with("hybrid"),
                "hybrid host reported as {found}"
            );
            // The cgroup2 mount and the v1 controllers are both named.
            assert!(
                details.contains(&format!("cgroup2 at {}", v2[0])),
                "{details}"
            );
            assert!(details.contains("v1 memory"), "{details}");
        }
        (v1, _) if v1 > 0 => assert!(found.starts_with("legacy"), "v1 host reported as {found}"),
        other => panic!("no cgroups mounted? {other:?}"),
    }
}

/// The propagation of "/" read from mountinfo: shared, slave or private.
fn root_propagation() -> &'static str {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let root = mountinfo
        .lines()
        .rfind(|l| l.split_whitespace().nth(4) == Some("/"))
        .expect("a mount at /");
    let left = root.split(" - ").next().unwrap_or_default();
    let optional: Vec<&str> = left.split_whitespace().skip(6).collect();
    if optional.iter().any(|f| f.starts_with("shared:")) {
        "shared"
    } else if optional.iter().any(|f| f.starts_with("master:")) {
        "slave"
    } else {
        "private"
    }
}

/// A static busybox where the chapters look for one: an ELF file without
/// the dynamic loader's name in its first page.
fn static_busybox() -> Option<String> {
    [
        "/bin/busybox",
        "/usr/bin/busybox",
        "/usr/sbin/busybox",
        "/sbin/busybox",
    ]
    .into_iter()
    .find(|path| {
        std::fs::read(path).is_ok_and(|bytes| {
            bytes.starts_with(b"\x7fELF")
                && !bytes
                    .windows(b"ld-linux".len())
                    .take(4096)
                    .any(|w| w == b"ld-linux")
        })
    })
    .map(String::from)
}

#[test]
fn doctor_describes_this_machine() {
    if !require_root("doctor_describes_this_machine") {
        return;
    }
    let report = doctor_json();
    let status = |name: &str| {
        check(&report, name)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let found = |name: &str| {
        check(&report, name)["found"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    assert_eq!(status("root"), "ok");
    assert!(
        found("root").starts_with("running as root"),
        "{}",
        found("root")
    );

    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let release = release.trim();
    assert!(
        found("kernel").starts_with(&format!("Linux {release}")),
        "{}",
        found("kernel")
    );
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>());
    let (Some(Ok(major)), Some(Ok(minor))) = (version.next(), version.next()) else {
        panic!("kernel release {release}");
    };
    assert_eq!(
        status("kernel"),
        if (major, minor) >= (5, 14) {
            "ok"
        } else {
            "warn"
        },
        "Linux {release}"
    );

    match static_busybox() {
        Some(path) => {
            assert_eq!(status("busybox"), "ok");
            assert!(found("busybox").starts_with(&path), "{}", found("busybox"));
        }
        None => assert_eq!(status("busybox"), "fail"),
    }

    assert_eq!(found("propagation"), format!("/ is {}", root_propagation()));

    let max_userns: u64 = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .expect("max_user_namespaces")
        .trim()
        .parse()
        .expect("a number");
    if max_userns == 0 {
        assert_eq!(status("user ns"), "fail");
    } else {
        assert_ne!(status("user ns"), "fail", "{}", found("user ns"));
        assert!(
            found("user ns").contains(&format!("user.max_user_namespaces = {max_userns}")),
            "{}",
            found("user ns")
        );
    }

    // Each controller where mountinfo says it is: a v1 hierarchy, or cgroup2.
    let layout = ch03_cgroups::CgroupLayout::detect().expect("layout");
    let controllers = found("controllers");
    for controller in ["memory", "cpu", "pids"] {
        let expected = if layout.v2_offers(controller) {
            format!("{controller}: v2")
        } else if let Some(h) = layout.v1_hierarchy(controller) {
            format!("{controller}: v1 ({})", h.mount_point.display())
        } else {
            continue;
        };
        assert!(
            controllers.contains(&expected),
            "{expected} in {controllers}"
        );
    }

    let filesystems = std::fs::read_to_string("/proc/filesystems").expect("filesystems");
    let has_overlay = filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"));
    if has_overlay {
        assert_eq!(status("overlayfs"), "ok");
    } else {
        assert_ne!(status("overlayfs"), "ok");
    }

    // The verdict follows from the checks: exit 1 and "N check(s) failed"
    // exactly when one failed, else exit 0 and "Ready".
    let out = run(Command::new(env!("CARGO_BIN_EXE_minibox"))
        .arg("doctor")
        .env("NO_COLOR", "1"));
    let (stdout, _) = text(&out);
    let failed: Vec<_> = report
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(
        stdout.starts_with("minibox doctor — is this machine ready for containers?\n"),
        "{stdout}"
    );
    if failed.is_empty() {
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(
            stdout.contains("\nReady: every chapter can run here. ("),
            "{stdout}"
        );
    } else {
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains(&format!("{} check(s) failed", failed.len())),
            "{stdout}"
        );
    }
}

#[test]
fn doctor_as_an_ordinary_user_says_to_use_sudo() {
    if !require_root("doctor_as_an_ordinary_user_says_to_use_sudo") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let out = run(Command::new(env!("CARGO_BIN_EXE_minibox"))
        .uid(65534)
        .gid(65534)
        .args(["doctor", "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let root = check(&report, "root");
    assert_eq!(root["status"], "fail");
    assert!(
        root["fix"].as_str().unwrap_or_default().contains("sudo"),
        "{root}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A cgroup directory made by this test under the default parent `minibox`
/// of a hierarchy that holds controllers; removed (with a parent we made) on drop.
struct TestCgroup {
    dir: std::path::PathBuf,
    made_parent: Option<std::path::PathBuf>,
}

impl TestCgroup {
    fn new(name: &str) -> TestCgroup {
        let layout = ch03_cgroups::CgroupLayout::detect().expect("layout");
        let root = match (&layout.v2, layout.v1_hierarchy("pids")) {
            (_, Some(v1)) => v1.mount_point.clone(),
            (Some(v2), None) => v2.mount_point.clone(),
            (None, None) => panic!("no hierarchy with the pids controller"),
        };
        let parent = root.join("minibox");
        let dir = parent.join(name);
        // Another container's cleanup may remove the shared parent under us: retry.
        for _ in 0..10 {
            let made_parent = std::fs::create_dir(&parent).is_ok().then(|| parent.clone());
            match std::fs::create_dir(&dir) {
                Ok(()) => return TestCgroup { dir, made_parent },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("mkdir {}: {e}", dir.display()),
            }
        }
        panic!("mkdir {}: its parent kept vanishing", dir.display());
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // EBUSY for a moment after the last process left.
        for _ in 0..100 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => break,
            }
        }
        if let Some(parent) = &self.made_parent {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// A chapter 04 state directory in the temporary directory whose owner file names `owner`.
fn state_dir(owner: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ch04-overlay-doctortest-")
        .tempdir_in(std::env::temp_dir())
        .expect("state dir");
    for sub in ["upper", "work", "merged", "l"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(dir.path().join("owner"), owner).expect("owner");
    dir
}

#[test]
fn doctor_reports_leftovers_and_clean_removes_only_unused_ones() {
    if !require_root("doctor_reports_leftovers_and_clean_removes_only_unused_ones") {
        return;
    }
    use nix::fcntl::{open, Flock, FlockArg, OFlag};
    let unique = format!("doctortest-{}", std::process::id());
    // Leftovers: an empty cgroup nobody holds; a layer whose owner is dead,
    // and one whose PID now belongs to a process started at another time.
    let stale_cgroup = TestCgroup::new(&format!("{unique}-stale"));
    let mut dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    dead.wait().expect("wait");
    let stale_layer = state_dir(&format!("{dead_pid} 12345\n"));
    let reused_layer = state_dir(&format!("{} 1\n", std::process::id()));
    // In use: a cgroup its owner holds locked, one with a process inside,
    // and the layer of a live owner.
    let locked_cgroup = TestCgroup::new(&format!("{unique}-locked"));
    let fd = open(
        &locked_cgroup.dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open");
    let _lock = Flock::lock(fd, FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .expect("flock");
    let busy_cgroup = TestCgroup::new(&format!("{unique}-busy"));
    let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep");
    std::fs::write(
        busy_cgroup.dir.join("cgroup.procs"),
        sleeper.id().to_string(),
    )
    .expect("join");
    let me = nix::unistd::getpid();
    let start = ch01_chroot::process::start_time(me).expect("our start time");
    let live_layer = state_dir(&format!("{me} {start}\n"));
    // A sweep leaves alone a cgroup younger than this (see chapter 03's stale).
    std::thread::sleep(ch03_cgroups::stale::SWEEP_GRACE + std::time::Duration::from_millis(200));

    let leftovers = check(&doctor_json(), "leftovers").clone();
    let details = leftovers["details"].to_string();
    assert_eq!(leftovers["status"], "warn", "{leftovers}");
    assert!(
        leftovers["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("sudo minibox doctor --clean"),
        "{leftovers}"
    );
    for path in [
        &stale_cgroup.dir,
        &stale_layer.path().to_path_buf(),
        &reused_layer.path().to_path_buf(),
    ] {
        assert!(
            details.contains(&path.display().to_string()),
            "{} in {details}",
            path.display()
        );
    }
    for path in [
        &locked_cgroup.dir,
        &busy_cgroup.dir,
        &live_layer.path().to_path_buf(),
    ] {
        assert!(
            !details.contains(&path.display().to_string()),
            "{} in {details}",
            path.display()
        );
    }

    let out =
        run(Command::new(env!("CARGO_BIN_EXE_minibox")).args(["doctor", "--clean", "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cleaned = check(&report, "leftovers")["details"].to_string();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(!stale_cgroup.dir.exists(), "{cleaned}");
    assert!(!stale_layer.path().exists(), "{cleaned}");
    assert!(!reused_layer.path().exists(), "{cleaned}");
    assert!(
        cleaned.contains(&format!("removed {}", stale_cgroup.dir.display())),
        "{cleaned}"
    );
    assert!(locked_cgroup.dir.exists(), "a locked cgroup is in use");
    assert!(
        busy_cgroup.dir.exists(),
        "a cgroup with a process is in use"
    );
    assert!(live_layer.path().exists(), "a live owner's layer is in use");
}

#[test]
fn a_closed_stdout_costs_the_report_not_a_panic() {
    // `minibox doctor | head -1`: the reader goes after the title line.
    for args in [&["doctor"][..], &["doctor", "--json"][..]] {
        let run = minibox_testkit::broken_pipe::close_after_lines(
            Command::new(env!("CARGO_BIN_EXE_minibox"))
                .args(args)
                .env("NO_COLOR", "1"),
            minibox_testkit::broken_pipe::Stream::Stdout,
            1,
            minibox_testkit::bounded::DEADLINE,
        );
        assert!(!run.other.contains("panicked"), "{args:?}: {}", run.other);
        assert!(
            matches!(run.status.code(), Some(0 | 1)),
            "{args:?}: {:?} (101 is a panic)",
            run.status
        );
    }
}
