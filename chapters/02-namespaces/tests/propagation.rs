//! "No mount leaked to the host", checked where it can fail: under an rshared "/".
//!
//! On a host whose "/" is private, a container that never makes its mount
//! namespace private leaks nothing, so these assertions would pass whatever
//! the code does. Each test here runs the container inside a mount namespace
//! of its own whose "/" is rshared, as on a systemd host (testkit's
//! `SharedRoot`), and looks for leaks in that namespace's mount table.

mod common;

use common::{command_in, entries};
use minibox_testkit::bounded::output_within;
use minibox_testkit::mounts::mounts_under;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, text, Rootfs};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::os::unix::process::CommandExt;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The flag sets whose mount code differs: fresh or host-bound /proc and /sys,
/// mknod or bound devices.
const FLAG_SETS: [&[&str]; 5] = [
    &["--mount"],
    &["--all"],
    &["--pid", "--net"],
    &["--user", "--mount"],
    &["--user", "--pid", "--net"],
];

#[test]
fn the_leak_check_can_fail_here() {
    if !require_root("the_leak_check_can_fail_here") {
        return;
    }
    // A process that makes a mount namespace and mounts in it *without*
    // making it private — the bug these tests exist to catch.
    let ns = SharedRoot::new();
    let target = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let target_path = target.path().to_path_buf();
    let mut leaky = ns.command("true");
    // Safety: between fork and exec; only unshare and mount.
    unsafe {
        leaky.pre_exec(move || {
            unshare(CloneFlags::CLONE_NEWNS)?;
            let flags = MsFlags::empty();
            mount(
                Some("tmpfs"),
                &target_path,
                Some("tmpfs"),
                flags,
                None::<&str>,
            )?;
            Ok(())
        });
    }
    let out = output_within(&mut leaky, LIMIT);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        ns.mounts_under(target.path()).len(),
        1,
        "a mount made in a child namespace must propagate back under an rshared \"/\""
    );
    // And it stayed in the test's namespace: the real host saw nothing.
    assert!(mounts_under(target.path()).is_empty());
}

#[test]
fn no_mount_leaks_under_a_shared_root() {
    if !require_root("no_mount_leaks_under_a_shared_root") {
        return;
    }
    let ns = SharedRoot::new();
    let rootfs = Rootfs::busybox();
    let before = ns.mounts_under(rootfs.path());
    for flags in FLAG_SETS {
        let out = output_within(
            &mut command_in(
                &ns,
                rootfs.path(),
                flags,
                &["sh", "-c", "mount -t tmpfs t /tmp; true"],
            ),
            LIMIT,
        );
        let (stdout, stderr) = text(&out);
        // The leak first: a container that leaks often fails as well.
        assert_eq!(
            ns.mounts_under(rootfs.path()),
            before,
            "{flags:?} leaked a mount into a shared \"/\" ({:?}: {stderr})",
            out.status
        );
        assert!(out.status.success(), "{flags:?}: {stdout}{stderr}");
    }
    assert!(mounts_under(rootfs.path()).is_empty());
    // The proc/dev/sys mount points in the rootfs are still empty directories.
    for dir in ["proc", "dev", "sys", "tmp"] {
        let entries = std::fs::read_dir(rootfs.path().join(dir))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(entries, 0, "{dir} is empty on the host");
    }
}

#[test]
fn a_symlinked_mount_point_is_refused_and_nothing_is_written_outside() {
    if !require_root("a_symlinked_mount_point_is_refused_and_nothing_is_written_outside") {
        return;
    }
    let ns = SharedRoot::new();
    for name in ["dev", "proc", "sys"] {
        for flags in [&["--all"][..], &["--mount"][..], &["--user", "--mount"][..]] {
            let rootfs = Rootfs::busybox();
            let outside = tempfile::Builder::new()
                .prefix("ch02-outside-")
                .tempdir()
                .unwrap_or_else(|e| panic!("tempdir: {e}"));
            let mount_point = rootfs.path().join(name);
            std::fs::remove_dir(&mount_point).unwrap_or_else(|e| panic!("rmdir {name}: {e}"));
            std::os::unix::fs::symlink(outside.path(), &mount_point)
                .unwrap_or_else(|e| panic!("symlink {name}: {e}"));

            let out = output_within(&mut command_in(&ns, rootfs.path(), flags, &["true"]), LIMIT);
            let (_, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(125), "{name} {flags:?}: {stderr}");
            assert!(
                stderr.contains(&format!("opening /{name} in the rootfs (it is a symlink, which could lead outside the rootfs)")),
                "{name} {flags:?}: the error names the path and why: {stderr}"
            );
            assert!(
                stderr.contains("must be real directories of"),
                "{name} {flags:?}: the error says what to do: {stderr}"
            );
            assert_eq!(
                entries(outside.path()),
                Vec::<String>::new(),
                "{name} {flags:?}: written outside"
            );
            assert!(
                ns.mounts_under(outside.path()).is_empty(),
                "{name} {flags:?}"
            );
            assert!(
                ns.mounts_under(rootfs.path()).is_empty(),
                "{name} {flags:?}"
            );
        }
    }
}
