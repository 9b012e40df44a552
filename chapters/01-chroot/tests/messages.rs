//! What a learner reads when the command cannot run, word for word: the
//! program missing, or what it needs (a loader, a script's interpreter).

use minibox_testkit::{chapter_command, elf_needing, require_root, run, text, Rootfs};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn ch01(rootfs: &Path, argv: &[&str]) -> std::process::Output {
    run(&mut chapter_command(
        env!("CARGO_BIN_EXE_ch01-chroot"),
        rootfs,
        &["--quiet"],
        argv,
    ))
}

fn executable(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
}

#[test]
fn what_is_missing_is_named() {
    if !require_root("what_is_missing_is_named") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let r = rootfs
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = r.display();
    executable(
        &rootfs.path().join("bin/app"),
        &elf_needing("/lib/ld-minibox-test.so.1"),
    );
    executable(&rootfs.path().join("bin/script"), b"#!/bin/bash\necho hi\n");
    for (argv, code, message) in [
        (
            &["app"][..],
            126,
            format!("ch01-chroot: error: running [\"app\"] in {r}: \"app\" (/bin/app) is dynamically linked, and its program interpreter /lib/ld-minibox-test.so.1 is missing inside {r}: use a statically linked program (like busybox), or copy the interpreter and the libraries `ldd` lists for the program into the root filesystem\n"),
        ),
        (
            &["/bin/script"][..],
            126,
            format!("ch01-chroot: error: running [\"/bin/script\"] in {r}: \"/bin/script\" is a script for /bin/bash, which is missing inside {r}: install /bin/bash in the root filesystem, or change the script's #! line to an interpreter it has\n"),
        ),
        (
            &["nosuch"][..],
            127,
            format!("ch01-chroot: error: running [\"nosuch\"] in {r}: command \"nosuch\" not found inside {r}: paths are looked up inside the new root, not on the host (try /bin/sh)\n"),
        ),
    ] {
        let out = ch01(rootfs.path(), argv);
        let (_, stderr) = text(&out);
        assert_eq!(stderr, message);
        assert_eq!(out.status.code(), Some(code), "{argv:?}");
    }
}

#[test]
fn no_shell_is_suggested_where_there_is_none() {
    if !require_root("no_shell_is_suggested_where_there_is_none") {
        return;
    }
    // A root filesystem of one static busybox and nothing else: no /bin/sh.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("bin")).unwrap_or_else(|e| panic!("{e}"));
    let busybox = ch01_chroot::rootfs::find_busybox().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(busybox, dir.path().join("bin/busybox")).unwrap_or_else(|e| panic!("{e}"));
    let r = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
    let out = ch01(dir.path(), &["sh"]);
    assert_eq!(
        text(&out).1,
        format!(
            "ch01-chroot: error: running [\"sh\"] in {0}: command \"sh\" not found inside {0}: paths are looked up inside the new root, not on the host\n",
            r.display()
        )
    );
    assert_eq!(out.status.code(), Some(127));
}
