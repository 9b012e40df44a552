//! The unwritable view of the runtime's binary leaves nothing behind: the
//! overlay is detached (never in a mount table) and its empty second layer
//! is removed at once; the sealed copy is memory that goes with the process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use minibox_testkit::bounded::output_within;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, Rootfs};
use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ch07-security");

/// The empty layer directories the overlay view makes and removes.
fn seal_dirs() -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for base in ["/run".into(), std::env::temp_dir()] {
        for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("minibox-seal-") {
                dirs.insert(entry.path().display().to_string());
            }
        }
    }
    dirs
}

/// The overlay views in the mount table: overlays with a `minibox-seal-`
/// layer. Other overlays (other tests' containers) come and go meanwhile.
fn seal_mounts(mountinfo: &str) -> usize {
    mountinfo
        .lines()
        .filter_map(|l| l.split_once(" - overlay "))
        .filter(|(_, options)| options.contains("minibox-seal-"))
        .count()
}

#[test]
fn sealing_leaves_no_directory_and_no_mount() {
    if !require_root("sealing_leaves_no_directory_and_no_mount") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Under an rshared "/" of the test's own: "/" is private on some hosts,
    // and there a mount made in the container's namespace would never show.
    let ns = SharedRoot::new();
    let (dirs_before, mounts_before) = (seal_dirs(), seal_mounts(&ns.mountinfo()));
    for sealed in ["", "copy"] {
        let mut cmd = ns.command(BIN);
        cmd.env("MINIBOX_SEALED_EXE", sealed)
            .arg("-q")
            .arg("--rootfs")
            .arg(rootfs.path())
            .args(["--", "sh", "-c", "ls -l /proc/self/exe >/dev/null"]);
        let out = output_within(&mut cmd, Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{sealed:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Another process sealing itself right now has its directory for a few
    // microseconds: what is still there a moment later was left behind.
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<_> = seal_dirs().difference(&dirs_before).cloned().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(
        seal_mounts(&ns.mountinfo()),
        mounts_before,
        "an overlay view was mounted"
    );
    let mounts = ns.mounts_under(rootfs.path());
    assert!(mounts.is_empty(), "mounts left on the rootfs: {mounts:?}");
}
