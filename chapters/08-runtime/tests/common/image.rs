//! A deterministic OCI image archive of a busybox rootfs, as `podman load`
//! and `ctr images import` take it: an OCI image layout, tarred up.
// Test fixture: a failed step is a failed test.
#![allow(clippy::expect_used)]

use sha2::{Digest, Sha256};
use std::path::Path;

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A tar of `dir` with fixed owners and times, symlinks kept as symlinks.
fn layer_of(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir).expect("tar the rootfs");
    builder.into_inner().expect("finish the layer")
}

fn add(archive: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    archive
        .append_data(&mut header, path, bytes)
        .expect("append");
}

/// Writes `out` (an OCI layout tar) holding one image named `name`
/// (`org.opencontainers.image.ref.name`) with `rootfs` as its only layer.
pub fn write_oci_archive(rootfs: &Path, name: &str, out: &Path) {
    let layer = layer_of(rootfs);
    let layer_digest = sha256(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]}
    }))
    .expect("config");
    let config_digest = sha256(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer_digest}"), "size": layer.len()}]
    }))
    .expect("manifest");
    let manifest_digest = sha256(&manifest);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": name}
        }]
    }))
    .expect("index");
    let mut archive = tar::Builder::new(Vec::new());
    add(
        &mut archive,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    add(&mut archive, "index.json", &index);
    for (digest, bytes) in [
        (&layer_digest, &layer),
        (&config_digest, &config),
        (&manifest_digest, &manifest),
    ] {
        add(&mut archive, &format!("blobs/sha256/{digest}"), bytes);
    }
    std::fs::write(out, archive.into_inner().expect("archive")).expect("write the archive");
}
