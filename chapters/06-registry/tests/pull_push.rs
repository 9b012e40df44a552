//! Pull and push against a real registry, with skopeo and umoci as the peers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use minibox_testkit::registry::{Registry, RegistryOptions};
use minibox_testkit::{require_root, require_tool, run, text};
use std::process::Command;

fn tools(test: &str) -> bool {
    require_root(test)
        && require_tool(test, "docker-registry")
        && require_tool(test, "skopeo")
        && require_tool(test, "umoci")
}

#[test]
fn skopeo_pushes_we_pull_identical_digests_and_tree() {
    if !tools("skopeo_pushes_we_pull_identical_digests_and_tree") {
        return;
    }
    let env = Env::new();
    let registry = Registry::start(RegistryOptions::default());
    let image = busybox_image("pulled\n");
    let oci = env.path("oci");
    layout(&oci, &image, "v1");
    let reference = format!("{}/demo/busybox:v1", registry.address());
    skopeo_push(&oci, "v1", &reference, None);

    let (stdout, stderr) = env.ok(&["pull", &reference]);
    assert_eq!(stdout.trim(), reference, "{stderr}");
    assert!(
        stderr.contains(&format!("Digest: {}", image.manifest_digest)),
        "{stderr}"
    );
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        image.manifest_digest
    );
    for digest in image
        .layers
        .iter()
        .map(|l| &l.digest)
        .chain([&image.config_digest])
    {
        assert!(env.has_blob(digest), "{digest} not in the store");
    }
    assert!(env.store_tmp_entries().is_empty());

    // umoci unpacks what skopeo has: the same tree, entry by entry.
    let bundle = env.path("bundle");
    let out = run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:v1", oci.display()))
        .arg(&bundle));
    assert!(out.status.success(), "umoci unpack: {}", text(&out).1);
    let ours = merged_tree(&layer_dirs(&env, &reference));
    let theirs = tree(&bundle.join("rootfs"));
    assert_eq!(ours, theirs);

    // `manifest` prints the bytes as served: they hash to the digest; `tags` lists v1.
    let (manifest, _) = env.ok(&["manifest", &reference]);
    assert_eq!(
        minibox_testkit::oci::sha256(manifest.as_bytes()),
        image.manifest_digest
    );
    let (tags, _) = env.ok(&["tags", &format!("{}/demo/busybox", registry.address())]);
    assert_eq!(tags, "v1\n");

    // Pulled again: nothing downloaded.
    let (_, stderr) = env.ok(&["pull", &reference]);
    assert!(stderr.contains("Already exists"), "{stderr}");
    assert!(stderr.contains("Image is up to date"), "{stderr}");
}

#[test]
fn we_push_skopeo_pulls_identical_and_mounts_within_a_registry() {
    if !tools("we_push_skopeo_pulls_identical_and_mounts_within_a_registry") {
        return;
    }
    let env = Env::new();
    let source = Registry::start(RegistryOptions::default());
    let target = Registry::start(RegistryOptions::default());
    let image = busybox_image("pushed\n");
    let oci = env.path("oci");
    layout(&oci, &image, "v1");
    let pulled = format!("{}/team/app:v1", source.address());
    skopeo_push(&oci, "v1", &pulled, None);
    env.ok(&["pull", &pulled]);

    // To another registry: every blob uploaded (POST, PATCH, PUT), then the manifest.
    let pushed = format!("{}/copy/app:v2", target.address());
    let (stdout, stderr) = env.ok(&["push", &pulled, &pushed]);
    assert!(
        stderr.contains(&format!(
            "v2: digest: {} size: {}",
            image.manifest_digest,
            image.manifest.len()
        )),
        "{stderr}"
    );
    assert_eq!(stdout.trim(), format!("{pushed}@{}", image.manifest_digest));
    let back = env.path("back");
    let index = skopeo_pull(&pushed, &back, "v2", None);
    assert_eq!(index_digest(&index), image.manifest_digest);
    for layer in &image.layers {
        let theirs = std::fs::read(
            back.join("blobs/sha256")
                .join(layer.digest.trim_start_matches("sha256:")),
        )
        .unwrap();
        assert_eq!(theirs, layer.blob);
    }

    // Again: the registry has every blob (HEAD 200), only the manifest is put.
    let (_, stderr) = env.ok(&["push", &pulled, &pushed]);
    assert!(stderr.contains("Layer already exists"), "{stderr}");

    // Within the source registry, to another repository: blobs are mounted, not sent.
    let sibling = format!("{}/team/sibling:v1", source.address());
    let (_, stderr) = env.ok(&["--trace-http", "push", &pulled, &sibling]);
    assert!(stderr.contains("Mounted from team/app"), "{stderr}");
    assert!(
        !stderr.contains("> PATCH"),
        "a mounted blob was uploaded:\n{stderr}"
    );
    let again = env.path("sibling");
    assert_eq!(
        index_digest(&skopeo_pull(&sibling, &again, "v1", None)),
        image.manifest_digest
    );
}

#[test]
fn an_index_gives_this_platform_or_the_one_asked_for() {
    if !tools("an_index_gives_this_platform_or_the_one_asked_for") {
        return;
    }
    let env = Env::new();
    let registry = Registry::start(RegistryOptions::default());
    let host = minibox_testkit::oci::host_architecture();
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    let native = minibox_testkit::oci::ImageBuilder::new()
        .layer(minibox_testkit::oci::Layer::new().file("arch", host.as_bytes(), 0o644))
        .build();
    let variant = (other == "arm64").then_some("v8");
    let foreign = minibox_testkit::oci::ImageBuilder::new()
        .platform("linux", other, variant)
        .layer(minibox_testkit::oci::Layer::new().file("arch", other.as_bytes(), 0o644))
        .build();
    let oci = env.path("oci");
    minibox_testkit::oci::OciLayout::create(&oci).add_index(&[&native, &foreign], &[], "multi");
    let reference = format!("{}/multi/arch:1", registry.address());
    skopeo_push(&oci, "multi", &reference, None);

    let (_, stderr) = env.ok(&["pull", &reference]);
    assert!(
        stderr.contains(&format!("is {}", native.manifest_digest)),
        "{stderr}"
    );
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        native.manifest_digest
    );

    let platform = format!("linux/{other}");
    let env2 = Env::new();
    let (_, stderr) = env2.ok(&["pull", "--platform", &platform, &reference]);
    assert!(
        stderr.contains(&format!("is {}", foreign.manifest_digest)),
        "{stderr}"
    );

    // A lone manifest for another platform: pulled, with a warning, under its own platform.
    let lone = env.path("lone");
    layout(&lone, &foreign, "only");
    let single = format!("{}/multi/foreign:1", registry.address());
    skopeo_push(&lone, "only", &single, None);
    let (_, stderr) = env.ok(&["pull", &single]);
    assert!(
        stderr.contains(&format!("this image is for {platform}")),
        "{stderr}"
    );

    let out = env.ch06(&["pull", "--platform", "linux/s390x", &reference]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr.contains("linux/s390x") && stderr.contains(&platform),
        "{stderr}"
    );
}

#[test]
fn a_pulled_image_runs_with_chapter_05() {
    if !tools("a_pulled_image_runs_with_chapter_05") {
        return;
    }
    // scripts/test builds every binary; alone, `cargo build -p ch05-images` first.
    let ch05 =
        std::path::Path::new(env!("CARGO_BIN_EXE_ch06-registry")).with_file_name("ch05-images");
    if !require_tool(
        "a_pulled_image_runs_with_chapter_05",
        &ch05.display().to_string(),
    ) {
        return;
    }
    let env = Env::new();
    let registry = Registry::start(RegistryOptions::default());
    let oci = env.path("oci");
    layout(&oci, &busybox_image("hello from a pulled image\n"), "v1");
    let reference = format!("{}/demo/run:v1", registry.address());
    skopeo_push(&oci, "v1", &reference, None);
    env.ok(&["pull", &reference]);
    let out = run(Command::new(&ch05).arg("--root").arg(env.store()).args([
        "-q",
        "run",
        "--name",
        "ch06-test-run",
        &reference,
    ]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "ch05-images run: {stderr}");
    assert_eq!(stdout, "hello from a pulled image\n");
}

#[test]
fn a_self_signed_https_registry_needs_insecure() {
    if !tools("a_self_signed_https_registry_needs_insecure") || !require_tool("tls", "openssl") {
        return;
    }
    let env = Env::new();
    let (cert, key) = (env.path("tls.crt"), env.path("tls.key"));
    let out = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(out.status.success(), "openssl: {}", text(&out).1);
    let registry = Registry::start(RegistryOptions {
        tls: Some((cert, key)),
        ..Default::default()
    });
    let oci = env.path("oci");
    let image = small_image("tls\n");
    layout(&oci, &image, "v1");
    let reference = format!("{}/secure/img:v1", registry.address());
    skopeo_push(&oci, "v1", &reference, None);

    // Loopback means plain http; this one speaks only https.
    let out = env.ch06(&["pull", &reference]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("--insecure"), "{stderr}");

    // --insecure: https first, the certificate unverified.
    let (_, stderr) = env.ok(&[
        "--trace-http",
        "--insecure",
        &registry.address(),
        "pull",
        &reference,
    ]);
    assert!(
        stderr.contains(&format!("> GET https://{}/v2/", registry.address())),
        "{stderr}"
    );
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        image.manifest_digest
    );
}
