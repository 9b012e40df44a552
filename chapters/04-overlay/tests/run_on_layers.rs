//! One container on a busybox rootfs plus a layer made by the test: where its
//! writes land, what it reads, how deletions are recorded, and the diff.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

#[test]
fn writes_land_in_upper_and_reads_fall_through() {
    if !require_root("writes_land_in_upper_and_reads_fall_through") {
        return;
    }
    let layers = Layers::new();
    layers.put("etc/layer-note", "from the extra layer\n");
    let output = layers.run(
        &["--keep"],
        &[
            "sh",
            "-c",
            "cat /etc/layer-note /etc/hostname; echo changed > /etc/hostname; echo new > /root/new",
        ],
    );
    assert_exit(&output, 0);
    let (stdout, _) = text(&output);
    assert_eq!(
        stdout, "from the extra layer\nminibox\n",
        "reads fall through both layers"
    );

    let kept = layers.kept();
    assert_eq!(kept.len(), 1, "--keep leaves one state dir: {kept:?}");
    let upper = kept[0].join("upper");
    assert_eq!(read(&upper.join("etc/hostname")), "changed\n");
    assert_eq!(read(&upper.join("root/new")), "new\n");
    assert_eq!(
        read(&layers.rootfs.path().join("etc/hostname")),
        "minibox\n",
        "the lower file is untouched"
    );
    assert!(!layers.rootfs.path().join("root/new").exists());
    assert!(!layers.extra.path().join("root/new").exists());

    assert_eq!(
        diff_lines(&output),
        ["C /etc", "C /etc/hostname", "C /root", "A /root/new"]
    );
}

#[test]
fn deleting_a_lower_file_records_a_whiteout() {
    if !require_root("deleting_a_lower_file_records_a_whiteout") {
        return;
    }
    let layers = Layers::new();
    layers.put("opt/app/config", "lower config\n");
    let output = layers.run(
        &["--keep"],
        &[
            "sh",
            "-c",
            "rm /opt/app/config && ! test -e /opt/app/config",
        ],
    );
    assert_exit(&output, 0);
    let upper = layers.kept()[0].join("upper");
    let whiteout =
        fs::symlink_metadata(upper.join("opt/app/config")).unwrap_or_else(|e| panic!("{e}"));
    assert!(whiteout.file_type().is_char_device(), "{whiteout:?}");
    assert_eq!(whiteout.rdev(), 0, "device 0/0");
    assert_eq!(
        read(&layers.extra.path().join("opt/app/config")),
        "lower config\n"
    );
    assert_eq!(
        diff_lines(&output),
        ["C /opt", "C /opt/app", "D /opt/app/config"]
    );
}

#[test]
fn a_recreated_directory_is_opaque() {
    if !require_root("a_recreated_directory_is_opaque") {
        return;
    }
    let layers = Layers::new();
    layers.put("opt/app/a", "a\n");
    layers.put("opt/app/b", "b\n");
    let output = layers.run(
        &["--keep"],
        &[
            "sh",
            "-c",
            "rm -rf /opt/app && mkdir /opt/app && echo c > /opt/app/c && ls /opt/app",
        ],
    );
    assert_exit(&output, 0);
    let (stdout, _) = text(&output);
    assert_eq!(stdout, "c\n", "the lower a and b are hidden");
    let upper = layers.kept()[0].join("upper");
    assert_eq!(
        ch04_overlay::whiteout::read_xattr(&upper.join("opt/app"), "trusted.overlay.opaque")
            .as_deref(),
        Some(b"y".as_slice())
    );
    assert_eq!(
        diff_lines(&output),
        [
            "C /opt",
            "C /opt/app",
            "D /opt/app/a",
            "D /opt/app/b",
            "A /opt/app/c"
        ]
    );
}

#[test]
fn a_read_only_run_changes_nothing_and_cleans_up() {
    if !require_root("a_read_only_run_changes_nothing_and_cleans_up") {
        return;
    }
    let layers = Layers::new();
    let output = layers.run(&[], &["ls", "/bin/sh"]);
    assert_exit(&output, 0);
    assert!(diff_lines(&output).is_empty(), "{:?}", diff_lines(&output));
    assert!(
        layers.kept().is_empty(),
        "without --keep the state dir is removed: {:?}",
        layers.kept()
    );
}

#[test]
fn exit_codes_are_the_commands() {
    if !require_root("exit_codes_are_the_commands") {
        return;
    }
    let layers = Layers::new();
    assert_exit(&layers.run(&["-q"], &["sh", "-c", "exit 3"]), 3);
    assert_exit(&layers.run(&["-q"], &["sh", "-c", "kill -9 $$"]), 137);
    assert_exit(&layers.run(&["-q"], &["/no/such/command"]), 127);
    let missing = layers.state.path().join("no-such-layer");
    let output = output_within(
        ch04().args(["--layer", &missing.to_string_lossy(), "--", "true"]),
        DEADLINE,
    );
    assert_exit(&output, 125);
    assert!(
        text(&output).1.contains("is not a directory"),
        "{}",
        text(&output).1
    );
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
}
