//! Hostile layers of every class: each is contained (lands inside the layer)
//! or refused with an error naming the entry — and, either way, nothing
//! outside the layer changes: the marker next to it keeps its bytes, the
//! "outside" directory gets no new file, /etc is untouched. Every case runs
//! with openat2 and with the in-root walk.

// Test code: an unwrap that fails is a failing test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch05_images::unpack::{UnpackError, Unpacked};
use ch05_images::Compression;
use common::*;
use minibox_testkit::require_root;
use std::path::Path;

/// Builds the layer (it may name the scratch's absolute paths), unpacks it
/// with each resolver, checks the outcome, and checks nothing outside moved.
fn hostile(
    test: &str,
    layer: impl Fn(&Scratch) -> Vec<u8>,
    check: impl Fn(&Scratch, Result<Unpacked, UnpackError>),
) {
    if !require_root(test) {
        return;
    }
    for resolver in RESOLVERS {
        let scratch = Scratch::new();
        let before = scratch.snapshot();
        let tar = layer(&scratch);
        let result = scratch.unpack(&tar, Compression::None, resolver);
        if let Err(err) = &result {
            eprintln!("{test} with {resolver:?}: {err}");
        }
        check(&scratch, result);
        assert_eq!(
            scratch.snapshot(),
            before,
            "{test} with {resolver:?}: something outside the layer changed"
        );
        assert_eq!(
            std::fs::read(scratch.path().join("marker")).unwrap(),
            MARKER
        );
    }
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// The scratch directory's absolute path without its leading `/`: where an
/// absolute name pointing at it lands inside the layer.
fn inside(scratch: &Scratch, rest: &str) -> std::path::PathBuf {
    let abs = scratch.path().join(rest);
    scratch.dest().join(abs.strip_prefix("/").unwrap())
}

#[test]
fn dotdot_names_are_contained() {
    hostile(
        "dotdot_names_are_contained",
        |_| {
            Layer::new()
                .file("../marker", b"pwned\n")
                .file("../../../../../../tmp/escaped", b"pwned\n")
                .file("a/../../outside/secret", b"pwned\n")
                .tar()
        },
        |scratch, result| {
            let unpacked = result.unwrap();
            assert_eq!(unpacked.contained_paths, 3);
            assert_eq!(read(scratch.dest().join("marker")), b"pwned\n");
            assert_eq!(read(scratch.dest().join("tmp/escaped")), b"pwned\n");
            assert_eq!(read(scratch.dest().join("outside/secret")), b"pwned\n");
            assert!(!Path::new("/tmp/escaped").exists());
        },
    );
}

#[test]
fn absolute_names_are_contained() {
    hostile(
        "absolute_names_are_contained",
        |scratch| {
            let marker = scratch.path().join("marker");
            Layer::new()
                .file("/etc/passwd", b"root::0:0::/:/bin/sh\n")
                .file(marker.to_str().unwrap(), b"pwned\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            assert_eq!(
                read(scratch.dest().join("etc/passwd")),
                b"root::0:0::/:/bin/sh\n"
            );
            assert_eq!(read(inside(scratch, "marker")), b"pwned\n");
        },
    );
}

// ANCHOR: symlink_to_root
#[test]
fn a_symlink_to_the_root_is_followed_inside() {
    hostile(
        "a_symlink_to_the_root_is_followed_inside",
        |scratch| {
            let marker = scratch.path().join("marker");
            let through = format!("rootlink{}", marker.display());
            Layer::new()
                .symlink("rootlink", "/")
                .symlink("uplink", "../../../../..")
                .file("rootlink/etc/passwd", b"pwned\n")
                .file(&through, b"pwned\n")
                .file("uplink/etc/shadow", b"pwned\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            assert_eq!(read(scratch.dest().join("etc/passwd")), b"pwned\n");
            assert_eq!(read(scratch.dest().join("etc/shadow")), b"pwned\n");
            assert_eq!(read(inside(scratch, "marker")), b"pwned\n");
        },
    );
}
// ANCHOR_END: symlink_to_root

#[test]
fn a_symlink_to_a_host_directory_is_followed_inside() {
    hostile(
        "a_symlink_to_a_host_directory_is_followed_inside",
        |scratch| {
            let outside = scratch.outside();
            Layer::new()
                .symlink("hostdir", outside.to_str().unwrap())
                .file("hostdir/new-file", b"pwned\n")
                .file("hostdir/secret", b"pwned\n")
                .symlink("reldir", "../outside")
                .file("reldir/new-file", b"pwned\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            // Made (with its missing parents) inside the layer, where the link points *there*.
            assert_eq!(read(inside(scratch, "outside/new-file")), b"pwned\n");
            assert_eq!(read(inside(scratch, "outside/secret")), b"pwned\n");
            assert_eq!(read(scratch.dest().join("outside/new-file")), b"pwned\n");
        },
    );
}

#[test]
fn a_directory_replaced_by_a_symlink_mid_layer() {
    hostile(
        "a_directory_replaced_by_a_symlink_mid_layer",
        |scratch| {
            let outside = scratch.outside();
            Layer::new()
                .dir("d/", ROOT_0755)
                .file("d/first", b"inside\n")
                // A symlink inside `d` to the outside: removing `d` must not follow it.
                .symlink("d/out", outside.to_str().unwrap())
                .symlink("d", outside.to_str().unwrap())
                .file("d/second", b"pwned\n")
                .file("d/secret", b"pwned\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            let d = scratch.dest().join("d");
            assert!(std::fs::symlink_metadata(&d)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(read(inside(scratch, "outside/second")), b"pwned\n");
            assert_eq!(read(scratch.outside().join("secret")), b"secret\n");
        },
    );
}

#[test]
fn hardlinks_to_host_files_are_refused() {
    for (n, target) in [
        "/etc/passwd",
        "../outside/secret",
        "../../../../etc/passwd",
        "linked/passwd",
    ]
    .into_iter()
    .enumerate()
    {
        hostile(
            "hardlinks_to_host_files_are_refused",
            |_| {
                Layer::new()
                    .symlink("linked", "/etc")
                    .hardlink(&format!("stolen{n}"), target)
                    .tar()
            },
            |_, result| match result {
                Err(UnpackError::HardlinkOutsideLayer { entry, .. }) => {
                    assert_eq!(entry, format!("stolen{n}"))
                }
                other => panic!("{target}: expected HardlinkOutsideLayer, got {other:?}"),
            },
        );
    }
}

#[test]
fn hardlinks_inside_the_layer_work_also_by_absolute_name() {
    hostile(
        "hardlinks_inside_the_layer_work_also_by_absolute_name",
        |_| {
            Layer::new()
                .file("etc/passwd", b"layer's own\n")
                .hardlink("abs", "/etc/passwd")
                .hardlink("climb", "../../etc/passwd")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            use std::os::unix::fs::MetadataExt;
            let ino = |p: &str| std::fs::metadata(scratch.dest().join(p)).unwrap().ino();
            assert_eq!(ino("abs"), ino("etc/passwd"));
            assert_eq!(ino("climb"), ino("etc/passwd"));
        },
    );
}

#[test]
fn a_hardlink_to_a_directory_is_refused() {
    hostile(
        "a_hardlink_to_a_directory_is_refused",
        |_| Layer::new().dir("d/", ROOT_0755).hardlink("h", "d").tar(),
        |_, result| {
            assert!(
                matches!(result, Err(UnpackError::HardlinkToDirectory { .. })),
                "{result:?}"
            )
        },
    );
}

#[test]
fn a_whiteout_through_a_symlink_deletes_nothing() {
    hostile(
        "a_whiteout_through_a_symlink_deletes_nothing",
        |scratch| {
            let outside = scratch.outside();
            Layer::new()
                .symlink("hostdir", outside.to_str().unwrap())
                .file("hostdir/.wh.secret", b"")
                .symlink("reldir", "../outside")
                .file("reldir/.wh.secret", b"")
                .symlink("etclink", "/etc")
                .file("etclink/.wh.passwd", b"")
                .file("etclink/.wh..wh..opq", b"")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            assert!(scratch.outside().join("secret").exists());
            assert!(is_whiteout(&inside(scratch, "outside/secret")));
            assert!(is_whiteout(&scratch.dest().join("outside/secret")));
            assert!(is_whiteout(&scratch.dest().join("etc/passwd")));
            assert_eq!(
                xattrs(&scratch.dest().join("etc"))
                    .get("trusted.overlay.opaque")
                    .map(Vec::as_slice),
                Some(&b"y"[..])
            );
            assert!(!xattrs(Path::new("/etc")).contains_key("trusted.overlay.opaque"));
        },
    );
}

#[test]
fn dotdot_in_a_symlink_chain_stays_inside() {
    hostile(
        "dotdot_in_a_symlink_chain_stays_inside",
        |_| {
            Layer::new()
                .dir("a/b/", ROOT_0755)
                .symlink("a/b/up", "../../../..")
                .symlink("hop1", "a/b/up/hop2")
                .symlink("hop2", "a/b/../../../../../etc")
                .file("hop1/x", b"inside\n")
                .file("a/b/up/a/b/up/y", b"inside\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            assert_eq!(read(scratch.dest().join("etc/x")), b"inside\n");
            assert_eq!(read(scratch.dest().join("y")), b"inside\n");
        },
    );
}

#[test]
fn a_symlink_loop_is_refused() {
    hostile(
        "a_symlink_loop_is_refused",
        |_| {
            Layer::new()
                .symlink("l1", "l2")
                .symlink("l2", "/l1")
                .file("l1/x", b"")
                .tar()
        },
        |_, result| match result {
            Err(UnpackError::SymlinkLoop { entry }) => assert_eq!(entry, "l1/x"),
            other => panic!("expected SymlinkLoop, got {other:?}"),
        },
    );
}

#[test]
fn a_file_on_the_path_is_refused() {
    hostile(
        "a_file_on_the_path_is_refused",
        |_| Layer::new().file("f", b"").file("f/x", b"").tar(),
        |_, result| {
            assert!(
                matches!(result, Err(UnpackError::NotADirectory { .. })),
                "{result:?}"
            )
        },
    );
}

#[test]
fn entries_of_unknown_type_are_refused() {
    for typeflag in [b'V', b'M', b'X', b'A'] {
        hostile(
            "entries_of_unknown_type_are_refused",
            |_| {
                Layer::new()
                    .entry(
                        tar::EntryType::new(typeflag),
                        "odd",
                        None,
                        ROOT_0644,
                        &[],
                        b"",
                    )
                    .tar()
            },
            |_, result| match result {
                Err(UnpackError::UnknownType { entry, typeflag: t }) => {
                    assert_eq!(entry, "odd");
                    assert_eq!(t, char::from(typeflag));
                }
                other => panic!("expected UnknownType, got {other:?}"),
            },
        );
    }
}

#[test]
fn overlay_xattrs_in_the_tar_are_not_forged() {
    hostile(
        "overlay_xattrs_in_the_tar_are_not_forged",
        |_| {
            Layer::new()
                .entry(
                    tar::EntryType::Directory,
                    "d/",
                    None,
                    ROOT_0755,
                    &[
                        ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
                        ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
                    ],
                    b"",
                )
                .file_with(
                    "f",
                    ROOT_0644,
                    &[
                        ("SCHILY.xattr.user.overlay.metacopy", b""),
                        ("SCHILY.xattr.user.fine", b"kept"),
                    ],
                    b"",
                )
                .tar()
        },
        |scratch, result| {
            let unpacked = result.unwrap();
            assert_eq!(unpacked.skipped_xattrs, 3);
            assert!(xattrs(&scratch.dest().join("d")).is_empty());
            let f = xattrs(&scratch.dest().join("f"));
            assert_eq!(f.keys().collect::<Vec<_>>(), ["user.fine"]);
        },
    );
}

#[test]
fn replacing_a_directory_full_of_links_to_outside_removes_only_the_links() {
    hostile(
        "replacing_a_directory_full_of_links_to_outside_removes_only_the_links",
        |scratch| {
            let outside = scratch.outside();
            Layer::new()
                .dir("d/", ROOT_0755)
                .symlink("d/out", outside.to_str().unwrap())
                .symlink("d/rel", "../../outside")
                .hardlink("d/hard", "d/out")
                .file("d", b"now a file\n")
                .tar()
        },
        |scratch, result| {
            result.unwrap();
            assert_eq!(read(scratch.dest().join("d")), b"now a file\n");
        },
    );
}

#[test]
fn a_bad_whiteout_name_is_refused() {
    hostile(
        "a_bad_whiteout_name_is_refused",
        |_| Layer::new().file("dir/.wh.", b"").tar(),
        |_, result| {
            assert!(
                matches!(result, Err(UnpackError::BadName { .. })),
                "{result:?}"
            )
        },
    );
}
