//! The device controller on the real kernel: a block device node made on
//! the host cannot be opened from inside the cgroup, /dev/null still can —
//! through v1's devices.allow/deny where this host has them, and through the
//! eBPF program on cgroup2 (on a hybrid host, its cgroup2 mount takes
//! programs too), and nothing is left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch01_chroot::Narrator;
use ch03_cgroups::devices::{Access, DeviceCgroup, DeviceKind, DeviceRule, Mechanism};
use ch03_cgroups::{CgroupLayout, Placement};
use common::bounded::output_within;
use minibox_testkit::{require_root, unique_name};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// A block device root may open on this host: (major, minor). Some hosts
/// (sandboxed VMs) already refuse their own disk; a loop device then serves.
fn host_block_device(scratch: &std::path::Path) -> (u64, u64) {
    let mut found: Vec<(u64, u64)> = std::fs::read_dir("/sys/dev/block")
        .expect("/sys/dev/block")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let (major, minor) = name.split_once(':')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    found.sort();
    let probe = scratch.join("probe");
    found
        .into_iter()
        .find(|&(major, minor)| {
            let _ = std::fs::remove_file(&probe);
            mknod(
                &probe,
                SFlag::S_IFBLK,
                Mode::from_bits_truncate(0o600),
                makedev(major, minor),
            )
            .is_ok()
                && std::fs::File::open(&probe).is_ok()
        })
        .inspect(|_| {
            let _ = std::fs::remove_file(&probe);
        })
        .expect("a block device root can open on this host")
}

fn rules() -> Vec<DeviceRule> {
    vec![
        DeviceRule::deny_all(),
        DeviceRule::allow(DeviceKind::Char, Some(1), Some(3), Access::ALL),
        DeviceRule::allow(DeviceKind::Block, None, None, Access::MKNOD),
    ]
}

/// Runs `script` in a busybox shell that first joins `procs` (pre_exec:
/// it is in the cgroup before busybox runs); returns (exit code, stderr).
fn run_in(procs: &std::path::Path, script: &str) -> (i32, String) {
    let busybox = ch01_chroot::rootfs::find_busybox().unwrap();
    let procs = procs.to_path_buf();
    let mut cmd = Command::new(busybox);
    cmd.args(["sh", "-c", script]);
    // Safety: only a write(2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || std::fs::write(&procs, "0"));
    }
    let out = output_within(&mut cmd, Duration::from_secs(30));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn block_device_is_refused(mechanism: Mechanism) {
    let layout = CgroupLayout::detect().unwrap();
    let id = unique_name("ch03-dev");
    let placement = Placement::new(&id, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (major, minor) = host_block_device(dir.path());
    let node = dir.path().join("disk");
    mknod(
        &node,
        SFlag::S_IFBLK,
        Mode::from_bits_truncate(0o600),
        makedev(major, minor),
    )
    .unwrap();
    let script = format!(
        "head -c 1 {} >/dev/null && echo disk-read; echo ok > /dev/null && echo null-written",
        node.display()
    );

    // Outside any device rules, root opens the disk.
    let free = Command::new(ch01_chroot::rootfs::find_busybox().unwrap())
        .args(["sh", "-c", &script])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&free.stdout).contains("disk-read"));

    let cgroup = DeviceCgroup::create_with(
        mechanism,
        &layout,
        &placement,
        &rules(),
        &Narrator::silent(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let made = cgroup.dir().to_path_buf();
    let procs = made.join("cgroup.procs");
    let script_with_stdout = format!("{script} >&2");
    let (_, stderr) = run_in(&procs, &script_with_stdout);
    assert!(
        stderr.contains("Operation not permitted") && !stderr.contains("disk-read"),
        "{mechanism:?}: the disk must be refused: {stderr}"
    );
    assert!(
        stderr.contains("null-written"),
        "{mechanism:?}: /dev/null stays usable: {stderr}"
    );
    // mknod of a block device is allowed ("b *:* m"): the rule is about *opening* it.
    let (code, stderr) = run_in(
        &procs,
        &format!("mknod {}/again b {major} {minor}", dir.path().display()),
    );
    assert_eq!(code, 0, "{mechanism:?}: mknod allowed by b *:* m: {stderr}");
    cgroup.remove().unwrap();
    assert!(!made.exists(), "{} removed", made.display());
}

#[test]
fn v1_device_rules_refuse_a_block_device() {
    if !require_root("v1_device_rules_refuse_a_block_device") {
        return;
    }
    let layout = CgroupLayout::detect().unwrap();
    if layout.v1_hierarchy("devices").is_none() {
        eprintln!("no v1 devices hierarchy on this host: the eBPF test covers it");
        return;
    }
    block_device_is_refused(Mechanism::V1Files);
}

#[test]
fn ebpf_device_filter_refuses_a_block_device() {
    if !require_root("ebpf_device_filter_refuses_a_block_device") {
        return;
    }
    let layout = CgroupLayout::detect().unwrap();
    if layout.v2.is_none() {
        eprintln!("no cgroup2 mount on this host: the v1 test covers it");
        return;
    }
    block_device_is_refused(Mechanism::Ebpf);
}
