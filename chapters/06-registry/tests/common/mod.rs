//! What the registry tests share: the binary, fixtures, and peers (skopeo, umoci).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod proxy;
pub mod token;

use minibox_testkit::oci::{BuiltImage, ImageBuilder, Layer, OciLayout};
use minibox_testkit::{run, text};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A test's own store, docker config dir and scratch space.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("minibox-ch06-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ch06-registry ARGS` with this env's store and docker config.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ch06-registry"));
        command
            .arg("--root")
            .arg(self.store())
            .arg("--registries-config")
            .arg(self.path("no-registries.json"))
            .args(args)
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("NO_COLOR", "1")
            .env_remove("MINIBOX_REGISTRY_USER")
            .env_remove("MINIBOX_REGISTRY_PASSWORD");
        command
    }

    pub fn ch06(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    /// Runs and asserts success; returns (stdout, stderr).
    pub fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.ch06(args);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "ch06-registry {args:?} failed:\n{stderr}"
        );
        (stdout, stderr)
    }

    /// Files in the store's tmp/ (must be none after any pull).
    pub fn store_tmp_entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.store().join("tmp"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.store()
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
            .is_file()
    }
}

/// A small image that runs: busybox as /bin/busybox and /bin/sh, plus a
/// layer with `/etc/motd` saying `motd`.
pub fn busybox_image(motd: &str) -> BuiltImage {
    let busybox = ch01_chroot::rootfs::find_busybox().expect("busybox-static is installed");
    ImageBuilder::new()
        .layer(
            Layer::new()
                .dir("bin", 0o755)
                .host_file("bin/busybox", &busybox, 0o755)
                .symlink("bin/sh", "busybox")
                .dir("etc", 0o755),
        )
        .layer(
            Layer::new()
                .dir("etc", 0o755)
                .file("etc/motd", motd.as_bytes(), 0o644),
        )
        .cmd(&["/bin/sh", "-c", "cat /etc/motd"])
        .build()
}

/// A tiny image of one file (fast to move around).
pub fn small_image(content: &str) -> BuiltImage {
    ImageBuilder::new()
        .layer(
            Layer::new()
                .dir("data", 0o755)
                .file("data/hello", content.as_bytes(), 0o644),
        )
        .build()
}

/// Writes `image` as an OCI layout in `dir` under `tag`.
pub fn layout(dir: &Path, image: &BuiltImage, tag: &str) -> OciLayout {
    OciLayout::create(dir).add(image, tag)
}

/// `skopeo copy oci:LAYOUT:TAG docker://DEST` (plain http, optional creds).
pub fn skopeo_push(layout: &Path, tag: &str, destination: &str, creds: Option<&str>) {
    let mut command = Command::new("skopeo");
    command.args(["copy", "--quiet", "--dest-tls-verify=false"]);
    if let Some(creds) = creds {
        command.args(["--dest-creds", creds]);
    }
    command.arg("--all");
    command.arg(format!("oci:{}:{tag}", layout.display()));
    command.arg(format!("docker://{destination}"));
    let out = run(&mut command);
    assert!(out.status.success(), "skopeo push: {}", text(&out).1);
}

/// `skopeo copy docker://SRC oci:DIR:TAG`; returns the layout's index.json.
pub fn skopeo_pull(source: &str, dir: &Path, tag: &str, creds: Option<&str>) -> serde_json::Value {
    let mut command = Command::new("skopeo");
    command.args(["copy", "--quiet", "--src-tls-verify=false"]);
    if let Some(creds) = creds {
        command.args(["--src-creds", creds]);
    }
    command.arg(format!("docker://{source}"));
    command.arg(format!("oci:{}:{tag}", dir.display()));
    let out = run(&mut command);
    assert!(out.status.success(), "skopeo pull: {}", text(&out).1);
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap()
}

/// Every entry under `root`: type, mode, owner, size, content hash, link target.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        let kind = if meta.file_type().is_symlink() {
            format!("link->{}", std::fs::read_link(&path).unwrap().display())
        } else if meta.is_dir() {
            "dir".to_string()
        } else {
            format!(
                "file {}",
                minibox_testkit::oci::sha256(&std::fs::read(&path).unwrap())
            )
        };
        let mode = if meta.file_type().is_symlink() {
            0
        } else {
            meta.mode() & 0o7777
        };
        out.insert(
            relative,
            format!("{kind} mode={mode:o} uid={} gid={}", meta.uid(), meta.gid()),
        );
        if meta.is_dir() {
            walk(root, &path, out);
        }
    }
}

/// The union of layer directories (upper wins), as overlayfs would show it
/// for layers without whiteouts.
pub fn merged_tree(layers: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut merged = BTreeMap::new();
    for layer in layers {
        merged.extend(tree(layer));
    }
    merged
}

/// The digest the OCI layout's index.json names first.
pub fn index_digest(index: &serde_json::Value) -> String {
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The layer directories of an image the store holds (via chapter 05).
pub fn layer_dirs(env: &Env, reference: &str) -> Vec<PathBuf> {
    let store = ch05_images::Store::open(&env.store()).unwrap();
    let image = store
        .resolve(&ch05_images::Reference::parse(reference).unwrap())
        .unwrap();
    image.layer_dirs()
}

/// The manifest digest the store has for a reference.
pub fn stored_manifest_digest(env: &Env, reference: &str) -> String {
    let store = ch05_images::Store::open(&env.store()).unwrap();
    let image = store
        .resolve(&ch05_images::Reference::parse(reference).unwrap())
        .unwrap();
    image.manifest_digest.to_string()
}
