//! Bad images are refused, and a refused import changes nothing: not the
//! store's blobs, layers or refs, not `ls`, not anything next to the store.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up its fixture has nothing to say

mod images;

use images::*;
use minibox_testkit::oci::{sha256, Compression, ImageBuilder, Layer, OciLayout};
use minibox_testkit::{require_root, text};
use std::path::Path;

/// A store with one good image in it, so "unchanged" means something.
fn store_with_an_image(scratch: &Scratch) {
    let good = layout_with(scratch, "good", &demo_image(), "v1");
    scratch.ok(&["import", good.to_str().unwrap(), "good:v1"]);
}

/// Imports `source`, expects exit 125 with `message` in stderr, and the store as before.
fn assert_refused(scratch: &Scratch, source: &Path, message: &str, fixtures: &[&str]) {
    let before = snapshot(&scratch.store());
    let ls_before = scratch.ok(&["ls"]);
    let output = scratch.cli(&["import", source.to_str().unwrap(), "bad:1"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
    assert_eq!(
        snapshot(&scratch.store()),
        before,
        "the store changed: {stderr}"
    );
    assert_eq!(scratch.ok(&["ls"]), ls_before);
    assert_eq!(
        std::fs::read_dir(scratch.store().join("tmp"))
            .unwrap()
            .count(),
        0,
        "tmp/ has leftovers"
    );
    scratch.assert_outside_untouched(fixtures);
}

#[test]
fn a_blob_whose_bytes_do_not_match_its_digest_is_refused() {
    if !require_root("a_blob_whose_bytes_do_not_match_its_digest_is_refused") {
        return;
    }
    let scratch = Scratch::new();
    store_with_an_image(&scratch);
    let image = ImageBuilder::new()
        .layer(base_layer())
        .layer(Layer::new().file("tampered", b"original bytes\n", 0o644))
        .build();
    let dir = scratch.path("tampered");
    let layout = OciLayout::create(&dir).add(&image, "v1");
    // Same length, other bytes: only the digest can tell.
    let blob = layout.blob_path(&image.layers[1].digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    assert_refused(
        &scratch,
        &dir,
        "does not match its digest",
        &["good", "tampered"],
    );
}

#[test]
fn a_truncated_gzip_layer_is_refused() {
    if !require_root("a_truncated_gzip_layer_is_refused") {
        return;
    }
    let scratch = Scratch::new();
    store_with_an_image(&scratch);
    let layer = Layer::new().file("big", &vec![7u8; 200_000], 0o644);
    let tar = layer.tar();
    let gzip = Compression::Gzip.compress(&tar);
    // The descriptor matches the cut bytes (so the digest check passes); the gzip stream does not end.
    let cut = gzip[..gzip.len() / 2].to_vec();
    let image = ImageBuilder::new()
        .layer(Layer::raw_blob(
            cut,
            Compression::Gzip.media_type(),
            &sha256(&tar),
        ))
        .build();
    let dir = layout_with(&scratch, "truncated", &image, "v1");
    assert_refused(&scratch, &dir, "layer 0", &["good", "truncated"]);
}

#[test]
fn a_wrong_diff_id_in_the_config_is_refused() {
    if !require_root("a_wrong_diff_id_in_the_config_is_refused") {
        return;
    }
    let scratch = Scratch::new();
    store_with_an_image(&scratch);
    let image = ImageBuilder::new()
        .layer(base_layer())
        .layer(Layer::new().file("x", b"y\n", 0o644))
        .diff_id_override(1, &sha256(b"some other tar"))
        .build();
    let dir = layout_with(&scratch, "wrong-diffid", &image, "v1");
    assert_refused(&scratch, &dir, "DiffID", &["good", "wrong-diffid"]);
}

#[test]
fn a_schema1_manifest_is_refused_with_what_to_do() {
    if !require_root("a_schema1_manifest_is_refused_with_what_to_do") {
        return;
    }
    let scratch = Scratch::new();
    store_with_an_image(&scratch);
    let dir = scratch.path("schema1");
    OciLayout::create(&dir);
    let manifest = br#"{"schemaVersion":1,"name":"x","tag":"1","fsLayers":[]}"#;
    let digest = sha256(manifest);
    std::fs::write(dir.join("blobs/sha256").join(&digest[7..]), manifest).unwrap();
    let index = serde_json::json!({"schemaVersion":2,"manifests":[{
        "mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws","digest":digest,"size":manifest.len()}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    assert_refused(&scratch, &dir, "schema 1", &["good", "schema1"]);
}

#[test]
fn a_layer_over_the_size_cap_is_refused() {
    if !require_root("a_layer_over_the_size_cap_is_refused") {
        return;
    }
    let scratch = Scratch::new();
    store_with_an_image(&scratch);
    // 1 MiB of zeros gzips to a kilobyte: a small blob, a large tar.
    let image = ImageBuilder::new()
        .layer(Layer::new().file("zeros", &vec![0u8; 1 << 20], 0o644))
        .build();
    let dir = layout_with(&scratch, "bomb", &image, "v1");
    let before = snapshot(&scratch.store());
    let output = scratch.cli(&[
        "import",
        dir.to_str().unwrap(),
        "bomb:1",
        "--max-layer-size",
        "65536",
    ]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains(&image.layers[0].digest),
        "the error names the layer: {stderr}"
    );
    assert!(
        stderr.contains("bomb:1"),
        "the error names the image: {stderr}"
    );
    assert_eq!(snapshot(&scratch.store()), before);
}
