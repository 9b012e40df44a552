//! In a user namespace, overlayfs keeps its whiteouts' companions — opaque
//! markers — in `user.overlay.*` xattrs (`userxattr`), because container root
//! may not write `trusted.*`.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Container root is host UID/GID 100000 (chapter 02's default mapping).
const CONTAINER_ROOT: u32 = 100_000;

fn chown_tree(path: &Path, id: u32) {
    let id = Some(nix::unistd::Uid::from_raw(id));
    let gid = Some(nix::unistd::Gid::from_raw(CONTAINER_ROOT));
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        id,
        gid,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        for entry in fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            chown_tree(&entry.path(), CONTAINER_ROOT);
        }
    }
}

#[test]
fn in_a_user_namespace_the_overlay_uses_user_xattrs() {
    if !require_root("in_a_user_namespace_the_overlay_uses_user_xattrs") {
        return;
    }
    let layers = Layers::new();
    layers.put("opt/app/a", "a\n");
    layers.put("opt/data/old", "old\n");
    // The extra layer belongs to container root (a "remapped" layer, as docker's
    // userns-remap keeps them); the busybox layer stays host root's, read-only.
    chown_tree(layers.extra.path(), CONTAINER_ROOT);
    for dir in [layers.rootfs.path(), layers.state.path()] {
        // Temporary directories are 0700: container root must be able to enter them.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let output = layers.run(
        &["--userns", "--keep"],
        &[
            "sh",
            "-c",
            "id -u; rm /opt/app/a && rm -rf /opt/data && mkdir /opt/data && echo new > /opt/data/new",
        ],
    );
    assert_exit(&output, 0);
    let (stdout, _) = text(&output);
    assert_eq!(stdout, "0\n", "root inside");
    let upper = layers.kept()[0].join("upper");
    let whiteout = fs::symlink_metadata(upper.join("opt/app/a")).unwrap_or_else(|e| panic!("{e}"));
    assert!(whiteout.file_type().is_char_device() && whiteout.rdev() == 0);
    assert_eq!(whiteout.uid(), CONTAINER_ROOT, "made by container root");
    let opaque = |name| ch04_overlay::whiteout::read_xattr(&upper.join("opt/data"), name);
    assert_eq!(
        opaque("user.overlay.opaque").as_deref(),
        Some(b"y".as_slice())
    );
    assert_eq!(opaque("trusted.overlay.opaque"), None);
    assert_eq!(
        diff_lines(&output),
        [
            "C /opt",
            "C /opt/app",
            "D /opt/app/a",
            "C /opt/data",
            "A /opt/data/new",
            "D /opt/data/old"
        ]
    );
}
