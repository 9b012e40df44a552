//! Unpacking as root of a user namespace (rootless): device nodes cannot be
//! made there, so they are skipped and counted; fifos, whiteouts (0/0 is
//! allowed since Linux 5.8) and `user.overlay.opaque` still work; nothing
//! outside the layer changes. The test runs itself again under
//! `unshare --user --map-root-user`.

// Test code: an unwrap that fails is a failing test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch04_overlay::XattrNamespace;
use ch05_images::unpack::{unpack_layer, UnpackOptions};
use ch05_images::Compression;
use common::*;
use minibox_testkit::{require_root, require_tool};
use std::process::Command;
use tar::EntryType;

const CHILD: &str = "UNPACK_USERNS_DEST";
const RESOLVER: &str = "UNPACK_USERNS_RESOLVER";

/// In the child (inside the user namespace): unpack, print the result.
#[test]
fn userns_child() {
    let Ok(dest) = std::env::var(CHILD) else {
        return; // not the child: nothing to do
    };
    let resolver = RESOLVERS[std::env::var(RESOLVER).unwrap().parse::<usize>().unwrap()];
    let tar = Layer::new()
        .dir("dev/", ROOT_0755)
        .device("dev/null", EntryType::Char, 1, 3)
        .device("dev/sda", EntryType::Block, 8, 0)
        .fifo("dev/pipe")
        .file("dev/regular", b"kept\n")
        .file(".wh.gone", b"")
        .dir("opaque/", ROOT_0755)
        .file("opaque/.wh..wh..opq", b"")
        .tar();
    let options = UnpackOptions {
        whiteouts: XattrNamespace::User,
        resolver,
        ..UnpackOptions::default()
    };
    let unpacked = unpack_layer(&tar[..], Compression::None, dest.as_ref(), &options).unwrap();
    println!(
        "skipped_devices={} notes={:?}",
        unpacked.skipped_devices, unpacked.notes
    );
}

#[test]
fn devices_are_skipped_in_a_user_namespace() {
    if !require_root("devices_are_skipped_in_a_user_namespace")
        || !require_tool("devices_are_skipped_in_a_user_namespace", "unshare")
    {
        return;
    }
    for (index, resolver) in RESOLVERS.iter().enumerate() {
        let scratch = Scratch::new();
        let before = scratch.snapshot();
        let out = Command::new("unshare")
            .args(["--user", "--map-root-user", "--"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "userns_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, scratch.dest())
            .env(RESOLVER, index.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{resolver:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("skipped_devices=2 "),
            "{resolver:?}: {stdout}"
        );
        let dest = scratch.dest();
        assert!(!dest.join("dev/null").exists() && !dest.join("dev/sda").exists());
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(dest.join("dev/pipe"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(std::fs::read(dest.join("dev/regular")).unwrap(), b"kept\n");
        assert!(is_whiteout(&dest.join("gone")));
        assert_eq!(
            xattrs(&dest.join("opaque"))
                .get("user.overlay.opaque")
                .map(Vec::as_slice),
            Some(&b"y"[..])
        );
        assert_eq!(
            scratch.snapshot(),
            before,
            "{resolver:?}: something outside the layer changed"
        );
    }
}
