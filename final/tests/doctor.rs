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

#[test]
fn doctor_reports_root_and_exits_zero_when_ready() {
    if !require_root("doctor_reports_root_and_exits_zero_when_ready") {
        return;
    }
    let report = doctor_json();
    assert_eq!(check(&report, "root")["status"], "ok");
    assert_eq!(
        check(&report, "busybox")["status"],
        "ok",
        "CI installs busybox-static"
    );
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
    assert_eq!(
        out.status.code(),
        Some(if failed.is_empty() { 0 } else { 1 }),
        "{stdout}"
    );
    assert!(stdout.contains("minibox doctor"), "{stdout}");
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
