//! What a learner reads when something is wrong, word for word: the layers
//! are named (merged/ is gone when the message is read), each cause once.

mod common;

use common::*;
use minibox_testkit::elf_needing;

#[test]
fn errors_name_the_layers_not_the_deleted_mount_point() {
    if !require_root("errors_name_the_layers_not_the_deleted_mount_point") {
        return;
    }
    let layers = Layers::new();
    layers.put("bin/app", "");
    std::fs::write(
        layers.extra.path().join("bin/app"),
        elf_needing("/lib/ld-minibox-test.so.1"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        layers.extra.path().join("bin/app"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    layers.put("bin/data", "echo not executable\n");
    let shown = format!(
        "the layers {} + {}",
        layers.rootfs.path().display(),
        layers.extra.path().display()
    );
    for (argv, code, message) in [
        ("nosuch", 127, format!("command \"nosuch\" not found inside {shown}: paths are looked up inside the new root, not on the host (try /bin/sh)")),
        ("app", 126, format!("\"app\" (/bin/app) is dynamically linked, and its program interpreter /lib/ld-minibox-test.so.1 is missing inside {shown}: use a statically linked program (like busybox), or copy the interpreter and the libraries `ldd` lists for the program into the root filesystem")),
        ("/bin/data", 126, format!("starting \"/bin/data\" inside {shown} failed: EACCES: Permission denied — make it executable (chmod +x) and its directories searchable")),
    ] {
        let out = layers.run(&["-q"], &[argv]);
        assert_eq!(
            text(&out).1,
            format!("ch04-overlay: error: starting [\"{argv}\"] on the overlay: {message}\n")
        );
        assert_exit(&out, code);
        assert!(layers.kept().is_empty());
    }
}

#[test]
fn a_mount_that_fails_names_its_layers() {
    if !require_root("a_mount_that_fails_names_its_layers") {
        return;
    }
    let layers = Layers::new();
    // A layer inside another: overlayfs refuses overlapping layers (ELOOP).
    let inner = layers.rootfs.path().join("etc");
    let out = output_within(
        ch04()
            .arg("--state-dir")
            .arg(layers.state.path())
            .arg("--layer")
            .arg(layers.rootfs.path())
            .arg("--layer")
            .arg(&inner)
            .args(["-q", "--", "true"]),
        DEADLINE,
    );
    assert_eq!(
        text(&out).1,
        format!(
            "ch04-overlay: error: starting [\"true\"] on the overlay: mounting the overlay of the layers {} + {} failed: ELOOP: Too many symbolic links encountered — two layers overlap (one layer directory lies inside another, or inside the state directory): give each layer its own directory\n",
            layers.rootfs.path().display(),
            inner.display()
        )
    );
    assert_exit(&out, 125);
}

#[test]
fn a_cause_is_said_once() {
    if !require_root("a_cause_is_said_once") {
        return;
    }
    let layers = Layers::new();
    let out = output_within(
        ch04()
            .args(["--state-dir", "/proc/minibox-no-such-dir", "--layer"])
            .arg(layers.rootfs.path())
            .args(["-q", "--", "true"]),
        DEADLINE,
    );
    assert_eq!(
        text(&out).1,
        "ch04-overlay: error: preparing ch04's writable layer and overlay mount: creating /proc/minibox-no-such-dir: No such file or directory (os error 2)\n"
    );
    assert_exit(&out, 125);
}
