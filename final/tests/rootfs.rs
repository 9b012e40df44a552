//! `minibox rootfs DIR`: the one command that gives every chapter its root filesystem.

use minibox_testkit::{require_tool, run, text};
use std::process::Command;

#[test]
fn rootfs_command_creates_a_runnable_busybox_tree() {
    if !require_tool(
        "rootfs_command_creates_a_runnable_busybox_tree",
        "/bin/busybox",
    ) {
        return;
    }
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("rootfs");
    let out = run(Command::new(env!("CARGO_BIN_EXE_minibox"))
        .arg("rootfs")
        .arg(&dir));
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    // The shell in it runs (busybox is static: no libraries needed).
    let sh = run(Command::new(dir.join("bin/busybox")).args(["sh", "-c", "echo works"]));
    assert_eq!(String::from_utf8_lossy(&sh.stdout), "works\n");
    assert!(dir.join("etc/passwd").is_file());
}

#[test]
fn rootfs_command_refuses_a_directory_with_files() {
    let parent = tempfile::tempdir().expect("tempdir");
    std::fs::write(parent.path().join("keep-me"), "x").expect("write");
    let out = run(Command::new(env!("CARGO_BIN_EXE_minibox"))
        .arg("rootfs")
        .arg(parent.path()));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr.contains("not empty"), "{stderr}");
    assert!(parent.path().join("keep-me").exists());
}
