//! What a learner reads when a limit or a name cannot work, word for word.

use minibox_testkit::bounded::{output_within, DEADLINE};
use minibox_testkit::{cgroup_dirs_named, require_root, text, unique_name, Rootfs};
use std::process::Command;

fn ch03(rootfs: &Rootfs, flags: &[&str]) -> std::process::Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_ch03-cgroups"))
            .env("NO_COLOR", "1")
            .arg("--quiet")
            .arg("--rootfs")
            .arg(rootfs.path())
            .args(flags)
            .args(["--", "touch", "/ran"]),
        DEADLINE,
    )
}

#[test]
fn pids_below_what_a_container_needs_are_refused_up_front() {
    if !require_root("pids_below_what_a_container_needs_are_refused_up_front") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for pids in ["0", "1"] {
        let name = unique_name("ch03-pids-min");
        let out = ch03(&rootfs, &["--name", &name, "--pids", pids]);
        assert_eq!(
            text(&out).1,
            format!("ch03-cgroups: error: creating the container's cgroup: invalid --pids \"{pids}\": at least 2: the container's init and the command are a process each (and a shell that runs commands needs one more per command)\n")
        );
        assert_eq!(out.status.code(), Some(125));
        assert!(!rootfs.path().join("ran").exists());
        assert!(cgroup_dirs_named(&name).is_empty());
    }
    // The minimum works: init, and the command it forks.
    let out = ch03(&rootfs, &["--pids", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(rootfs.path().join("ran").exists());
}

#[test]
fn a_name_that_cannot_be_a_cgroup_or_hostname_is_refused() {
    if !require_root("a_name_that_cannot_be_a_cgroup_or_hostname_is_refused") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = ch03(&rootfs, &["--name", "web\u{1b}[2J"]);
    assert_eq!(
        text(&out).1,
        "ch03-cgroups: error: the container name \"web\\u{1b}[2J\" contains '\\u{1b}': use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)\n"
    );
    assert_eq!(out.status.code(), Some(125));
}
