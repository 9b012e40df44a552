//! A container's upper directory as a layer: overlayfs's markers become
//! OCI whiteouts, the chapter's unpacker turns them back, the same tree
//! gives the same digest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up its fixture has nothing to say

use ch04_overlay::XattrNamespace;
use ch05_images::import::layer_from_upper;
use ch05_images::unpack::{unpack_layer, UnpackOptions};
use ch05_images::{Compression, Store};
use minibox_testkit::require_root;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// An upper dir as overlayfs leaves it: a new file, a deleted one (0/0
/// character device), an opaque directory, a symlink.
fn upper(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/note"), "kept\n").unwrap();
    nix::sys::stat::mknod(
        &dir.join("etc/group"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o000),
        nix::sys::stat::makedev(0, 0),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("opt")).unwrap();
    std::fs::write(dir.join("opt/only"), "new\n").unwrap();
    xattr_set(&dir.join("opt"), "trusted.overlay.opaque", b"y");
    std::os::unix::fs::symlink("note", dir.join("etc/link")).unwrap();
}

fn xattr_set(path: &std::path::Path, name: &str, value: &[u8]) {
    let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // Safety: valid C strings and a buffer of the length given.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name}: {}",
        std::io::Error::last_os_error()
    );
}

fn entries(store: &Store, digest: &ch05_images::Digest) -> Vec<String> {
    let blob = std::fs::File::open(store.blob_path(digest)).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            path
        })
        .collect()
}

#[test]
fn an_upper_dir_becomes_an_oci_layer_and_unpacks_back() {
    if !require_root("an_upper_dir_becomes_an_oci_layer_and_unpacks_back") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let up = dir.path().join("upper");
    upper(&up);

    let layer = layer_from_upper(&store, &up, XattrNamespace::Trusted).unwrap();
    assert_eq!(
        entries(&store, &layer.digest),
        [
            "etc",
            "etc/.wh.group",
            "etc/link",
            "etc/note",
            "opt",
            "opt/.wh..wh..opq",
            "opt/only"
        ]
    );
    // The same tree, the same bytes: the digest is reproducible.
    let again = layer_from_upper(&store, &up, XattrNamespace::Trusted).unwrap();
    assert_eq!(again, layer);

    // The chapter's unpacker reads it back into overlay markers.
    let back = dir.path().join("back");
    std::fs::create_dir(&back).unwrap();
    let blob = std::fs::File::open(store.blob_path(&layer.digest)).unwrap();
    let unpacked = unpack_layer(blob, Compression::Gzip, &back, &UnpackOptions::default()).unwrap();
    assert_eq!(unpacked.diff_id, layer.diff_id);
    let group = std::fs::symlink_metadata(back.join("etc/group")).unwrap();
    assert!(group.file_type().is_char_device() && group.rdev() == 0);
    assert!(ch04_overlay::whiteout::is_opaque(
        &back.join("opt"),
        XattrNamespace::Trusted
    ));
    assert_eq!(
        std::fs::read_to_string(back.join("etc/note")).unwrap(),
        "kept\n"
    );
    assert!(!back.join("opt/.wh..wh..opq").exists());
}
