//! Chapter 01 against the real kernel: what chroot(2) changes, and what it does not.

use minibox_testkit::{require_root, run, text, Rootfs};
use std::process::Command;

fn ch01() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ch01-chroot"));
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn command_sees_the_rootfs_and_not_the_host() {
    if !require_root("command_sees_the_rootfs_and_not_the_host") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Something that exists only on the host, next to the rootfs.
    let host_only = tempfile::NamedTempFile::new().expect("temp file");
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "/bin/sh", "-c"])
        .arg(format!(
            "cat /etc/minibox-rootfs; test -e {} && echo HOST-VISIBLE || echo HOST-HIDDEN",
            host_only.path().display()
        )));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(
        stdout.contains("made by `minibox rootfs`"),
        "stdout: {stdout}"
    );
    assert!(stdout.contains("HOST-HIDDEN"), "stdout: {stdout}");
}

#[test]
fn chroot_isolates_nothing_else() {
    if !require_root("chroot_isolates_nothing_else") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "/bin/hostname"]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let host = nix::unistd::gethostname().expect("hostname");
    assert_eq!(
        stdout.trim(),
        host.to_string_lossy(),
        "same hostname inside a chroot"
    );
    // The narration shows the child as an ordinary host process whose root is the rootfs.
    let canonical = rootfs.path().canonicalize().expect("canonical");
    assert!(
        stderr.contains(&format!("/root -> {}", canonical.display())),
        "stderr: {stderr}"
    );
}

#[test]
fn exit_codes_and_signals_propagate() {
    if !require_root("exit_codes_and_signals_propagate") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--quiet", "--", "/bin/sh", "-c", "exit 42"]));
    assert_eq!(out.status.code(), Some(42));
    let out = run(ch01().arg("--rootfs").arg(rootfs.path()).args([
        "--quiet",
        "--",
        "/bin/sh",
        "-c",
        "kill -TERM $$",
    ]));
    assert_eq!(out.status.code(), Some(128 + 15), "SIGTERM → 143");
}

#[test]
fn quiet_keeps_stderr_empty_and_stdout_clean() {
    if !require_root("quiet_keeps_stderr_empty_and_stdout_clean") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run(ch01().arg("--rootfs").arg(rootfs.path()).args([
        "--quiet",
        "--",
        "/bin/echo",
        "hello",
    ]));
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "hello\n");
    assert_eq!(stderr, "");
}

#[test]
fn missing_rootfs_is_a_clear_error() {
    if !require_root("missing_rootfs_is_a_clear_error") {
        return;
    }
    let out = run(ch01().args(["--rootfs", "/nonexistent/minibox-rootfs", "--", "/bin/sh"]));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr.contains("does not exist") && stderr.contains("minibox rootfs"),
        "stderr: {stderr}"
    );
}

#[test]
fn missing_command_is_a_clear_error() {
    if !require_root("missing_command_is_a_clear_error") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "/bin/no-such-command"]));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr.contains("not found inside"), "stderr: {stderr}");
}

#[test]
fn not_root_is_a_clear_error() {
    if !require_root("not_root_is_a_clear_error") {
        return;
    }
    // Drop to nobody for this one run: the binary must explain, not crash.
    let rootfs = Rootfs::busybox();
    use std::os::unix::process::CommandExt;
    let out = run(ch01()
        .uid(65534)
        .gid(65534)
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "/bin/sh"]));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "stderr: {stderr}");
    assert!(
        stderr.contains("needs root") && stderr.contains("sudo"),
        "stderr: {stderr}"
    );
}

#[test]
fn escape_reaches_the_host_root() {
    if !require_root("escape_reaches_the_host_root") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // A file that exists only outside the rootfs, with content nobody could guess.
    let secret = format!("host-secret-{}", std::process::id());
    let marker = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(marker.path(), &secret).expect("write marker");
    // After the escape, /bin/cat is the host's cat and the path is a host path.
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .arg("--escape")
        .args(["--", "cat"])
        .arg(marker.path()));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(stdout, secret, "the escaped process read a host-only file");
    // The escape directory was tidied away.
    assert!(!rootfs.path().join(ch01_chroot::escape::ESCAPE_DIR).exists());
}

#[test]
fn without_escape_the_same_host_file_is_invisible() {
    if !require_root("without_escape_the_same_host_file_is_invisible") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let marker = tempfile::NamedTempFile::new().expect("temp file");
    let out = run(ch01()
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--quiet", "--", "cat"])
        .arg(marker.path()));
    let (stdout, stderr) = text(&out);
    // cat ran (inside the chroot) and failed its own way: exit 1, its own
    // message — not 125/126/127, which would mean we failed to run it.
    assert_eq!(
        out.status.code(),
        Some(1),
        "cat of a host path must fail inside the chroot: {stderr}"
    );
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "cat: can't open '{}': No such file or directory\n",
            marker.path().display()
        )
    );
}
