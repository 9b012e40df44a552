//! A workshop room's pull-through mirror (a second docker-registry with
//! `proxy: remoteurl:`), and two pulls sharing layers at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use minibox_testkit::oci::{ImageBuilder, Layer};
use minibox_testkit::registry::{Registry, RegistryOptions};
use minibox_testkit::{require_root, require_tool, text};

fn tools(test: &str) -> bool {
    require_root(test) && require_tool(test, "docker-registry") && require_tool(test, "skopeo")
}

#[test]
fn a_pull_through_mirror_serves_and_a_dead_one_falls_back() {
    if !tools("a_pull_through_mirror_serves_and_a_dead_one_falls_back") {
        return;
    }
    let env = Env::new();
    let upstream = Registry::start(RegistryOptions::default());
    let mirror = Registry::start(RegistryOptions {
        proxy_remote_url: Some(upstream.url()),
        ..Default::default()
    });
    let image = busybox_image("mirrored\n");
    let oci = env.path("oci");
    layout(&oci, &image, "v1");
    skopeo_push(
        &oci,
        "v1",
        &format!("{}/library/demo:v1", upstream.address()),
        None,
    );

    // Docker Hub's name, served entirely by the room's mirror: Hub is never asked.
    let (_, stderr) = env.ok(&[
        "--trace-http",
        "--registry-mirror",
        &mirror.url(),
        "pull",
        "demo:v1",
    ]);
    assert!(
        stderr.contains(&format!("talking to {} (a mirror)", mirror.url())),
        "{stderr}"
    );
    assert!(!stderr.contains("registry-1.docker.io"), "{stderr}");
    assert_eq!(
        stored_manifest_digest(&env, "docker.io/library/demo:v1"),
        image.manifest_digest
    );
    // The mirror cached what it served.
    let cached = mirror.storage().join("docker/registry/v2/blobs/sha256");
    let layer_hex = image.layers[0].digest.trim_start_matches("sha256:");
    assert!(cached
        .join(&layer_hex[..2])
        .join(layer_hex)
        .join("data")
        .is_file());

    // A mirror that is down: a warning, then the registry itself.
    let env = Env::new();
    let dead = format!(
        "{}=http://127.0.0.1:{}",
        upstream.address(),
        minibox_testkit::registry::free_port()
    );
    let reference = format!("{}/library/demo:v1", upstream.address());
    let (_, stderr) = env.ok(&["--registry-mirror", &dead, "pull", &reference]);
    assert!(
        stderr.contains("failed") && stderr.contains("trying the next source"),
        "{stderr}"
    );
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        image.manifest_digest
    );

    // The same from a settings file shaped like docker's daemon.json.
    let env = Env::new();
    std::fs::write(
        env.path("no-registries.json"),
        serde_json::json!({ "registry-mirrors": [mirror.url()] }).to_string(),
    )
    .unwrap();
    let (_, stderr) = env.ok(&["pull", "demo:v1"]);
    assert!(stderr.contains("(a mirror)"), "{stderr}");
}

#[test]
fn concurrent_pulls_of_images_sharing_layers_both_succeed() {
    if !tools("concurrent_pulls_of_images_sharing_layers_both_succeed") {
        return;
    }
    let env = Env::new();
    let registry = Registry::start(RegistryOptions::default());
    let busybox = ch01_chroot::rootfs::find_busybox().unwrap();
    let base = Layer::new()
        .dir("bin", 0o755)
        .host_file("bin/busybox", &busybox, 0o755);
    let mut references = Vec::new();
    let mut images = Vec::new();
    for name in ["one", "two"] {
        let image = ImageBuilder::new()
            .layer(base.clone())
            .layer(Layer::new().file(name, name.as_bytes(), 0o644))
            .build();
        let oci = env.path(&format!("oci-{name}"));
        layout(&oci, &image, "v1");
        let reference = format!("{}/shared/{name}:v1", registry.address());
        skopeo_push(&oci, "v1", &reference, None);
        references.push(reference);
        images.push(image);
    }
    assert_eq!(images[0].layers[0].digest, images[1].layers[0].digest);
    let children: Vec<_> = references
        .iter()
        .map(|r| {
            env.command(&["pull", "--max-concurrent-downloads", "2", r])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
    }
    for (reference, image) in references.iter().zip(&images) {
        assert_eq!(
            stored_manifest_digest(&env, reference),
            image.manifest_digest
        );
        assert_eq!(layer_dirs(&env, reference).len(), 2);
    }
    assert!(env.store_tmp_entries().is_empty());
}
