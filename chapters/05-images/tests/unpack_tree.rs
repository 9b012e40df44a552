//! A layer with every kind of entry unpacks to the same tree as `umoci
//! unpack` makes of it (except whiteouts, which umoci keeps its own way),
//! with either resolver and any compression; both digests are what
//! `sha256sum` says of the blob and of the tar.

// Test code: an unwrap that fails is a failing test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch05_images::unpack::{Resolver, UnpackOptions};
use ch05_images::Compression;
use common::*;
use minibox_testkit::{require_root, require_tool};
use std::path::Path;
use std::process::Command;
use tar::EntryType;

/// `cap_net_raw+ep` as a v2 `security.capability` value (what `setcap` writes).
const CAP_NET_RAW: &[u8] = &[
    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn attrs(uid: u64, gid: u64, mode: u32) -> Attrs {
    Attrs {
        uid,
        gid,
        mode,
        mtime: MTIME,
    }
}

/// Directories, files, setuid/setgid/sticky, owners, absolute and relative
/// symlinks (and a file written through one), hardlinks, devices, a fifo,
/// xattrs, a long name, a whiteout and an opaque directory.
fn rich_layer() -> Vec<u8> {
    let long = format!("long/{}", "n".repeat(150));
    Layer::new()
        .dir("./", attrs(0, 0, 0o755))
        .dir("usr/", attrs(0, 0, 0o755))
        .dir(
            "usr/lib/",
            Attrs {
                mtime: MTIME - 3600,
                ..attrs(0, 0, 0o755)
            },
        )
        .dir("usr/bin/", attrs(0, 0, 0o755))
        .symlink("lib", "/usr/lib")
        .file("lib/libx.so", b"ELF through an absolute symlink\n")
        .file_with("usr/bin/su", attrs(0, 0, 0o4755), &[], b"#!/bin/su\n")
        .file_with("usr/bin/wall", attrs(0, 5, 0o2755), &[], b"#!/bin/wall\n")
        .file_with(
            "usr/bin/ping",
            attrs(0, 0, 0o755),
            &[("SCHILY.xattr.security.capability", CAP_NET_RAW)],
            b"#!/bin/ping\n",
        )
        .hardlink("usr/bin/su2", "usr/bin/su")
        .hardlink("usr/bin/su3", "/usr/bin/su")
        .symlink("bin", "usr/bin")
        .symlink("usr/lib/up", "../../../../usr")
        .dir("tmp/", attrs(0, 0, 0o1777))
        .dir("etc/", attrs(0, 0, 0o755))
        .file_with(
            "etc/commented",
            attrs(0, 0, 0o640),
            &[("SCHILY.xattr.user.comment", b"hello")],
            b"x=1\n",
        )
        .file("etc/empty", b"")
        .dir("home/", attrs(0, 0, 0o755))
        .dir("home/user/", attrs(1000, 1000, 0o700))
        .file_with("home/user/notes", attrs(1000, 1000, 0o600), &[], b"mine\n")
        .dir("dev/", attrs(0, 0, 0o755))
        .device("dev/null", EntryType::Char, 1, 3)
        .device("dev/loop0", EntryType::Block, 7, 0)
        .fifo("dev/initctl")
        .dir("var/", attrs(0, 0, 0o755))
        .dir("var/cache/", attrs(0, 0, 0o755))
        .file("var/cache/.wh.old", b"")
        .dir("opaque/", attrs(0, 0, 0o755))
        .file("opaque/.wh..wh..opq", b"")
        .file("opaque/kept", b"kept\n")
        .dir("long/", attrs(0, 0, 0o755))
        .file(&long, b"a name longer than ustar's 100 bytes\n")
        .tar()
}

#[test]
fn rich_layer_matches_umoci() {
    if !require_root("rich_layer_matches_umoci")
        || !require_tool("rich_layer_matches_umoci", "umoci")
    {
        return;
    }
    let tar = rich_layer();
    let blob = compress(&tar, Compression::Gzip);
    let diff_id = format!("sha256:{}", sha256_hex(&tar));

    // umoci's tree of the same layer.
    let work = tempfile::tempdir().unwrap();
    oci_layout(&work.path().join("image"), &blob, &diff_id);
    let bundle = work.path().join("bundle");
    let out = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:test", work.path().join("image").display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = tree(&bundle.join("rootfs"));

    for resolver in RESOLVERS {
        let scratch = Scratch::new();
        let before = scratch.snapshot();
        let unpacked = scratch.unpack(&blob, Compression::Gzip, resolver).unwrap();
        assert_eq!(unpacked.used_openat2, resolver == Resolver::Openat2);
        assert_eq!(unpacked.diff_id.to_string(), diff_id);
        assert_eq!(unpacked.skipped_devices, 0, "{:?}", unpacked.notes);
        assert_eq!(
            scratch.snapshot(),
            before,
            "{resolver:?}: something outside the layer changed"
        );

        let dest = scratch.dest();
        // What overlayfs wants, where umoci has nothing (it applied the whiteouts).
        assert!(
            is_whiteout(&dest.join("var/cache/old")),
            "{resolver:?}: whiteout"
        );
        assert_eq!(
            xattrs(&dest.join("opaque"))
                .get("trusted.overlay.opaque")
                .map(Vec::as_slice),
            Some(&b"y"[..]),
            "{resolver:?}: opaque"
        );
        let mut ours = tree(&dest);
        ours.remove("var/cache/old");

        // Spot checks that make the comparison meaningful.
        assert!(
            ours["usr/lib/libx.so"].starts_with("file"),
            "{}",
            ours["usr/lib/libx.so"]
        );
        assert!(!ours.contains_key("lib/libx.so"));
        assert!(
            ours["usr/bin/su"].contains("mode 4755 owner 0:0 links 3"),
            "{}",
            ours["usr/bin/su"]
        );
        assert!(ours["usr/bin/wall"].contains("mode 2755 owner 0:5"));
        assert!(ours["tmp"].contains("mode 1777"));
        assert!(ours["home/user/notes"].contains("owner 1000:1000"));
        assert!(ours["dev/null"].starts_with("char 1:3"));
        assert!(ours["dev/loop0"].starts_with("block 7:0"));
        assert!(ours["dev/initctl"].starts_with("fifo"));
        assert!(ours["usr/bin/ping"].contains("security.capability"));
        assert!(ours["usr/lib"].contains(&format!("mtime {}.", MTIME - 3600)));

        let mut differences = Vec::new();
        for path in ours
            .keys()
            .chain(theirs.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (a, b) = (ours.get(path), theirs.get(path));
            if path == "opaque" {
                // Ours also carries the opaque xattr; compare without it.
                let strip = |s: &String| s.split(" xattrs ").next().unwrap_or("").to_string();
                if a.map(strip) != b.map(strip) {
                    differences.push(format!("{path}:\n  ours   {a:?}\n  umoci  {b:?}"));
                }
                continue;
            }
            if a != b {
                differences.push(format!("{path}:\n  ours   {a:?}\n  umoci  {b:?}"));
            }
        }
        assert!(
            differences.is_empty(),
            "{resolver:?}: differs from umoci:\n{}",
            differences.join("\n")
        );
    }
}

#[test]
fn digests_match_sha256sum_for_every_compression() {
    if !require_root("digests_match_sha256sum_for_every_compression")
        || !require_tool("digests_match_sha256sum_for_every_compression", "sha256sum")
    {
        return;
    }
    let mut tar = rich_layer();
    // GNU tar pads to a 10 KiB record after the end-of-archive marker: the
    // DiffID covers those bytes too, which the tar parser never reads.
    tar.extend_from_slice(&[0u8; 8192]);
    let work = tempfile::tempdir().unwrap();
    let tar_path = work.path().join("layer.tar");
    std::fs::write(&tar_path, &tar).unwrap();
    let sha256sum = |path: &Path| {
        let out = Command::new("sha256sum").arg(path).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        format!("sha256:{}", text.split_whitespace().next().unwrap())
    };
    let diff_id = sha256sum(&tar_path);
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let blob = compress(&tar, compression);
        let blob_path = work.path().join("blob");
        std::fs::write(&blob_path, &blob).unwrap();
        for resolver in RESOLVERS {
            let scratch = Scratch::new();
            let unpacked = scratch.unpack(&blob, compression, resolver).unwrap();
            assert_eq!(
                unpacked.digest.to_string(),
                sha256sum(&blob_path),
                "{compression:?}"
            );
            assert_eq!(unpacked.compressed_size, blob.len() as u64);
            assert_eq!(unpacked.diff_id.to_string(), diff_id, "{compression:?}");
            assert_eq!(unpacked.uncompressed_size, tar.len() as u64);
            assert_eq!(unpacked.entries, 32, "{compression:?}");
        }
    }
}

#[test]
fn a_layer_written_by_gnu_tar_unpacks() {
    if !require_root("a_layer_written_by_gnu_tar_unpacks")
        || !require_tool("a_layer_written_by_gnu_tar_unpacks", "tar")
    {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("a/b/file"), b"from GNU tar\n").unwrap();
    std::os::unix::fs::symlink("/a/b", src.join("abs")).unwrap();
    std::fs::hard_link(src.join("a/b/file"), src.join("a/hard")).unwrap();
    let blob_path = work.path().join("layer.tar.gz");
    let status = Command::new("tar")
        .args(["--xattrs", "--format=posix", "-czf"])
        .arg(&blob_path)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let blob = std::fs::read(&blob_path).unwrap();
    for resolver in RESOLVERS {
        let scratch = Scratch::new();
        let options = UnpackOptions {
            resolver,
            ..UnpackOptions::default()
        };
        ch05_images::unpack::unpack_layer(&blob[..], Compression::Gzip, &scratch.dest(), &options)
            .unwrap();
        let dest = scratch.dest();
        assert_eq!(
            std::fs::read(dest.join("a/b/file")).unwrap(),
            b"from GNU tar\n"
        );
        assert_eq!(tree(&dest), tree(&src), "{resolver:?}");
    }
}
