//! What a learner reads when something is wrong, word for word.

use minibox_testkit::{chapter_command, elf_needing, require_root, run, text, Rootfs};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

fn ch02(rootfs: &Path, flags: &[&str], argv: &[&str]) -> Output {
    let flags: Vec<&str> = ["--quiet"].iter().chain(flags).copied().collect();
    run(&mut chapter_command(
        env!("CARGO_BIN_EXE_ch02-namespaces"),
        rootfs,
        &flags,
        argv,
    ))
}

fn file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
}

#[test]
fn a_command_that_cannot_run_says_why() {
    if !require_root("a_command_that_cannot_run_says_why") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let r = rootfs
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = r.display();
    file(
        &rootfs.path().join("bin/app"),
        &elf_needing("/lib/ld-minibox-test.so.1"),
        0o755,
    );
    file(
        &rootfs.path().join("bin/script"),
        b"#!/usr/bin/python3\n",
        0o755,
    );
    file(
        &rootfs.path().join("bin/data"),
        b"echo not executable\n",
        0o644,
    );
    let context = |argv: &str| {
        format!("ch02-namespaces: error: running [\"{argv}\"] in {r} with namespaces [mnt, pid]: ")
    };
    for (argv, code, message) in [
        ("app", 126, format!("\"app\" (/bin/app) is dynamically linked, and its program interpreter /lib/ld-minibox-test.so.1 is missing inside {r}: use a statically linked program (like busybox), or copy the interpreter and the libraries `ldd` lists for the program into the root filesystem")),
        ("script", 126, format!("\"script\" (/bin/script) is a script for /usr/bin/python3, which is missing inside {r}: install /usr/bin/python3 in the root filesystem, or change the script's #! line to an interpreter it has")),
        ("/bin/data", 126, format!("starting \"/bin/data\" inside {r} failed: EACCES: Permission denied — make it executable (chmod +x) and its directories searchable")),
        ("nosuch", 127, format!("command \"nosuch\" not found inside {r}: paths are looked up inside the new root, not on the host (try /bin/sh)")),
    ] {
        let out = ch02(rootfs.path(), &["--pid"], &[argv]);
        assert_eq!(text(&out).1, format!("{}{message}\n", context(argv)));
        assert_eq!(out.status.code(), Some(code), "{argv}");
    }
}

#[test]
fn names_and_hostnames_are_checked_before_anything_runs() {
    if !require_root("names_and_hostnames_are_checked_before_anything_runs") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let r = rootfs
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("{e}"));
    let long = "h".repeat(65);
    let names = "use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)";
    let hosts = "use 1 to 64 letters, digits, '-', '.' and '_', starting with a letter or digit (e.g. web-1.local)";
    for (flags, message) in [
        (vec!["--name", ""], format!("the container name \"\" is empty: {names}")),
        (vec!["--name", "two\nlines"], format!("the container name \"two\\nlines\" contains '\\n': {names}")),
        (vec!["--uts", "--hostname", "\u{1b}[31mred"], format!("the hostname \"\\u{{1b}}[31mred\" contains '\\u{{1b}}': {hosts}")),
        (vec!["--uts", "--hostname", &long], format!("the hostname \"{long}\" is 65 bytes long, more than the 64 the kernel keeps: {hosts}")),
        (vec!["--uts", "--hostname", ".dot"], format!("the hostname \".dot\" does not start with a letter or digit: {hosts}")),
    ] {
        let mut all = flags.clone();
        all.push("--pid");
        let out = ch02(rootfs.path(), &all, &["touch", "/ran"]);
        let ns = if flags.contains(&"--uts") { "mnt, uts, pid" } else { "mnt, pid" };
        assert_eq!(
            text(&out).1,
            format!(
                "ch02-namespaces: error: running [\"touch\", \"/ran\"] in {} with namespaces [{ns}]: {message}\n",
                r.display()
            ),
            "{flags:?}"
        );
        assert_eq!(out.status.code(), Some(125));
        assert!(!rootfs.path().join("ran").exists(), "{flags:?}: nothing ran");
    }
}

#[test]
fn mount_points_it_had_to_create_are_removed() {
    if !require_root("mount_points_it_had_to_create_are_removed") {
        return;
    }
    // A directory with just a static busybox as /bin/sh: no proc, dev, sys.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("bin")).unwrap_or_else(|e| panic!("{e}"));
    let busybox = ch01_chroot::rootfs::find_busybox().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(busybox, dir.path().join("bin/sh")).unwrap_or_else(|e| panic!("{e}"));
    let entries = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    for (flags, argv, code) in [
        (
            &["--pid"][..],
            &["/bin/sh", "-c", "test -d /proc/self && test -c /dev/null"][..],
            0,
        ),
        (
            &["--pid", "--net", "--ipc", "--uts"][..],
            &["/bin/sh", "-c", "exit 3"][..],
            3,
        ),
        (&["--pid"][..], &["/no/such/command"][..], 127),
    ] {
        let out = ch02(dir.path(), flags, argv);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{flags:?} {argv:?}: {}",
            text(&out).1
        );
        assert_eq!(
            entries(),
            ["bin"],
            "{flags:?} {argv:?}: only what was there before"
        );
    }
    // A mount point that was there already stays, and what is inside it.
    std::fs::create_dir(dir.path().join("proc")).unwrap_or_else(|e| panic!("{e}"));
    let out = ch02(dir.path(), &["--pid"], &["/bin/sh", "-c", "true"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(entries(), ["bin", "proc"]);
}
