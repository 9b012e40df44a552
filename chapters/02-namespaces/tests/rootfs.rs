//! The new root: pivot_root, the old root gone, /dev, read-only (that no
//! mount leaks is checked under an rshared "/" in propagation.rs).

mod common;

use common::{run_in, stdout_of};
use minibox_testkit::{require_root, unique_name, Rootfs};

#[test]
fn the_old_root_is_not_reachable_and_the_chroot_escape_fails() {
    if !require_root("the_old_root_is_not_reachable_and_the_chroot_escape_fails") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // A directory only the host has.
    let host_only = std::env::temp_dir().join(unique_name("ch02-host-only"));
    std::fs::create_dir(&host_only).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(rootfs.path().join("inside-marker"), "container\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    let probe = format!(
        "test -e {} && echo host-visible; cat /inside-marker; grep -c . /proc/self/mountinfo",
        host_only.display()
    );
    let out = stdout_of(rootfs.path(), &["--mount"], &probe);
    assert!(!out.contains("host-visible"), "{out}");
    assert!(out.starts_with("container\n"), "{out}");
    // Chapter 01's escape, run as root inside: ".." stops at the container's root.
    let escaped = stdout_of(rootfs.path(), &["--mount", "--escape"], &probe);
    std::fs::remove_dir(&host_only).unwrap_or_else(|e| panic!("rmdir: {e}"));
    assert!(
        !escaped.contains("host-visible"),
        "the escape reached the host: {escaped}"
    );
    assert!(escaped.starts_with("container\n"), "{escaped}");
    assert!(
        !rootfs.path().join(ch01_chroot::escape::ESCAPE_DIR).exists(),
        "the escape directory was tidied up"
    );
}

#[test]
fn the_host_root_is_gone_from_the_mount_table() {
    if !require_root("the_host_root_is_gone_from_the_mount_table") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(
        rootfs.path(),
        &["--mount", "--pid"],
        "cat /proc/self/mountinfo",
    );
    let mount_points: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .collect();
    assert_eq!(mount_points.first(), Some(&"/"), "{out}");
    for point in &mount_points {
        assert!(
            ["/", "/proc", "/sys", "/dev"]
                .iter()
                .any(|p| point == p || point.starts_with("/dev/")),
            "unexpected mount {point} inside: {out}"
        );
    }
}

#[test]
fn dev_has_the_standard_nodes_and_nothing_else() {
    if !require_root("dev_has_the_standard_nodes_and_nothing_else") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for flags in [&["--pid", "--ipc"][..], &["--all"][..]] {
        let out = stdout_of(
            rootfs.path(),
            flags,
            "ls /dev | tr '\\n' ' '; echo; echo hi > /dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/fd; readlink /dev/ptmx",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].trim(),
            "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero",
            "{flags:?}: {out}"
        );
        assert_eq!(lines[1].trim(), "4", "{flags:?}: /dev/zero works: {out}");
        assert_eq!(lines[2], "/proc/self/fd");
        assert_eq!(lines[3], "pts/ptmx");
    }
}

#[test]
fn read_only_rootfs_refuses_writes() {
    if !require_root("read_only_rootfs_refuses_writes") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run_in(
        rootfs.path(),
        &["--mount", "--read-only"],
        "touch /etc/new-file",
    );
    assert!(!out.status.success());
    let (_, stderr) = minibox_testkit::text(&out);
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!rootfs.path().join("etc/new-file").exists());
}

#[test]
fn hostname_needs_uts_and_missing_rootfs_is_explained() {
    if !require_root("hostname_needs_uts_and_missing_rootfs_is_explained") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run_in(rootfs.path(), &["--hostname", "x"], "true");
    assert_eq!(out.status.code(), Some(125));
    assert!(minibox_testkit::text(&out).1.contains("--uts"));

    let missing = rootfs.path().join("nope");
    let out = run_in(&missing, &["--pid"], "true");
    assert_eq!(out.status.code(), Some(125));
    assert!(minibox_testkit::text(&out).1.contains("minibox rootfs"));
}
