//! What the store tests share: a scratch directory with a store and a
//! marker beside it, the demo binary, snapshots of the store to prove a
//! refused import changed nothing, and the fixture images.
#![allow(dead_code)] // each test binary uses a different subset

use minibox_testkit::oci::{BuiltImage, ImageBuilder, Layer, OciLayout};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory: `store/` (the store root), `marker` (must keep its
/// bytes), and room for fixtures. Removed on drop.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

pub const MARKER: &[u8] = b"nothing outside the store may change\n";

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("ch05-store-test-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("marker"), MARKER).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// Runs `ch05-images --root STORE ARGS…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        let store = self.store();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ch05-images"));
        command
            .arg("--root")
            .arg(&store)
            .args(args)
            .env("NO_COLOR", "1");
        minibox_testkit::run(&mut command)
    }

    /// Runs the CLI and insists it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        let (stdout, stderr) = minibox_testkit::text(&output);
        assert!(
            output.status.success(),
            "ch05-images {args:?} failed: {stderr}"
        );
        stdout
    }

    /// The marker's bytes are intact and nothing but store/, marker and the
    /// named fixtures is in the scratch directory.
    pub fn assert_outside_untouched(&self, fixtures: &[&str]) {
        assert_eq!(std::fs::read(self.path("marker")).unwrap(), MARKER);
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected: Vec<String> = ["marker", "store"]
            .iter()
            .chain(fixtures)
            .map(|s| s.to_string())
            .collect();
        expected.sort();
        assert_eq!(names, expected, "a file appeared next to the store");
    }
}

/// Everything under the store's blobs/, layers/ and refs.json: path → what it is.
pub fn snapshot(store: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sub in ["blobs", "layers", "refs.json"] {
        walk(store, &store.join(sub), &mut out);
    }
    out
}

fn walk(base: &Path, path: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let name = path.strip_prefix(base).unwrap().display().to_string();
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            walk(base, &entry, out);
        }
        format!("dir {:o}", meta.mode())
    } else if kind.is_symlink() {
        format!("link {}", std::fs::read_link(path).unwrap().display())
    } else if kind.is_file() {
        format!(
            "file {:o} {}",
            meta.mode(),
            hex(&std::fs::read(path).unwrap())
        )
    } else if kind.is_char_device() {
        format!("char {}", meta.rdev())
    } else {
        "other".into()
    };
    out.insert(name, what);
}

pub fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every blob in the store hashes to its name (nothing half-written is visible).
pub fn assert_blobs_complete(store: &Path) {
    let blobs = store.join("blobs/sha256");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(
            hex(&std::fs::read(entry.path()).unwrap()),
            name,
            "blob {name} does not match its name"
        );
    }
}

pub fn busybox() -> PathBuf {
    ch01_chroot::rootfs::find_busybox().unwrap()
}

/// The base layer of the fixture image: busybox, an absolute symlink used
/// as a directory, a hard link, setuid, a device, owners.
pub fn base_layer() -> Layer {
    Layer::new()
        .dir("bin", 0o755)
        .host_file("bin/busybox", &busybox(), 0o755)
        .symlink("bin/sh", "busybox")
        .dir("usr", 0o755)
        .dir("usr/lib", 0o755)
        .symlink("lib", "/usr/lib")
        // Written through the absolute link: lands in usr/lib, inside the layer.
        .file("lib/libdemo.so", b"not really a library\n", 0o644)
        .dir("usr/bin", 0o755)
        .file("usr/bin/su", b"#!/bin/sh\n", 0o4755)
        .dir("etc", 0o755)
        .file("etc/hostname", b"base\n", 0o644)
        .hardlink("etc/hostname.bak", "etc/hostname")
        .file("etc/removed", b"deleted by layer 1\n", 0o644)
        .dir("dev", 0o755)
        .char_device("dev/null", 1, 3, 0o666)
        .dir("opt", 0o755)
        .dir("opt/app", 0o755)
        .file("opt/app/old", b"hidden by the opaque dir\n", 0o644)
        .dir("data", 0o750)
        .owned(1000, 1000)
}

/// Layer 1: a whiteout, an opaque directory, a changed file.
pub fn top_layer() -> Layer {
    Layer::new()
        .dir("etc", 0o755)
        .whiteout("etc/removed")
        .file("etc/hostname", b"top\n", 0o644)
        .dir("opt", 0o755)
        .dir("opt/app", 0o755)
        .opaque("opt/app")
        .file("opt/app/new", b"from the top layer\n", 0o644)
}

/// The fixture image: two layers, Entrypoint/Cmd/Env/WorkingDir.
pub fn demo_image() -> BuiltImage {
    ImageBuilder::new()
        .layer(base_layer())
        .layer(top_layer())
        .entrypoint(&["/bin/busybox"])
        .cmd(&["echo", "hello from demo"])
        .env(&["GREETING=hi", "PATH=/bin:/usr/bin"])
        .workdir("/opt/app")
        .label("org.example.demo", "yes")
        .build()
}

/// An OCI layout directory `name` in the scratch dir holding `image` as `tag`.
pub fn layout_with(scratch: &Scratch, name: &str, image: &BuiltImage, tag: &str) -> PathBuf {
    let dir = scratch.path(name);
    OciLayout::create(&dir).add(image, tag);
    dir
}
