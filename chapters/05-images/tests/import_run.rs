//! Import from every source, run with chapters 02–04, export and import again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up its fixture has nothing to say

mod images;

use images::*;
use minibox_testkit::oci::{host_architecture, ImageBuilder, Layer, OciLayout};
use minibox_testkit::{require_root, require_tool, text};

fn inspect(scratch: &Scratch, image: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&scratch.ok(&["inspect", image])).unwrap();
    json[0].clone()
}

#[test]
fn an_oci_layout_imports_and_runs_its_config_on_the_overlay() {
    if !require_root("an_oci_layout_imports_and_runs_its_config_on_the_overlay") {
        return;
    }
    let scratch = Scratch::new();
    let image = demo_image();
    let layout = layout_with(&scratch, "layout", &image, "v1");
    let name = scratch.ok(&["import", layout.to_str().unwrap(), "demo:v1"]);
    assert_eq!(name.trim(), "docker.io/library/demo:v1");
    let ls = scratch.ok(&["ls"]);
    assert!(ls.contains("demo") && ls.contains("v1"), "{ls}");

    let info = inspect(&scratch, "demo:v1");
    assert_eq!(
        info["RepoDigests"][0],
        format!("docker.io/library/demo@{}", image.manifest_digest)
    );
    assert_eq!(info["Id"], image.config_digest);
    assert_eq!(info["Config"]["WorkingDir"], "/opt/app");
    assert_eq!(info["Config"]["Labels"]["org.example.demo"], "yes");
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(info["RootFS"]["Layers"], serde_json::json!(diff_ids));

    // Entrypoint + Cmd, as the config says.
    assert_eq!(scratch.ok(&["run", "-q", "demo:v1"]), "hello from demo\n");
    // Arguments replace Cmd and keep the Entrypoint; Env and WorkingDir apply;
    // the overlay shows the whiteout, the opaque directory and the links.
    let script =
        "pwd; echo $GREETING; cat /etc/hostname; test -e /etc/removed || echo removed-is-gone; \
                  ls /opt/app; cat /usr/lib/libdemo.so; cat /etc/hostname.bak; \
                  stat -c '%a %u:%g' /usr/bin/su /data; stat -c '%t,%T' /dev/null";
    let out = scratch.ok(&["run", "-q", "demo:v1", "--", "sh", "-c", script]);
    assert_eq!(
        out,
        "/opt/app\nhi\ntop\nremoved-is-gone\nnew\nnot really a library\nbase\n4755 0:0\n750 1000:1000\n1,3\n",
        "what the container sees"
    );
    // The container's exit code comes back.
    let output = scratch.cli(&["run", "-q", "demo:v1", "--", "sh", "-c", "exit 7"]);
    assert_eq!(output.status.code(), Some(7));
    // Nothing of the runs stays: no container directories, the layers unchanged.
    assert_eq!(
        std::fs::read_dir(scratch.store().join("containers"))
            .unwrap()
            .count(),
        0
    );
    scratch.assert_outside_untouched(&["layout"]);
}

#[test]
fn export_then_import_gives_identical_digests() {
    if !require_root("export_then_import_gives_identical_digests") {
        return;
    }
    let scratch = Scratch::new();
    let image = demo_image();
    let layout = layout_with(&scratch, "layout", &image, "v1");
    scratch.ok(&["import", layout.to_str().unwrap(), "demo:v1"]);
    let first = inspect(&scratch, "demo:v1");
    let out_dir = scratch.path("exported");
    let out_tar = scratch.path("exported.tar");
    scratch.ok(&["export", "demo:v1", out_dir.to_str().unwrap()]);
    scratch.ok(&["export", "demo:v1", out_tar.to_str().unwrap()]);
    // The tar is deterministic: exporting twice gives the same bytes.
    let again = scratch.path("again.tar");
    scratch.ok(&["export", "demo:v1", again.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&out_tar).unwrap(),
        std::fs::read(&again).unwrap()
    );

    for (source, name) in [(&out_dir, "fromdir:1"), (&out_tar, "fromtar:1")] {
        scratch.ok(&["import", source.to_str().unwrap(), name]);
        let second = inspect(&scratch, name);
        for field in ["Id", "RootFS", "Layers", "Config"] {
            assert_eq!(
                first[field],
                second[field],
                "{field} after export → import from {}",
                source.display()
            );
        }
        assert_eq!(first["Manifest"]["Digest"], second["Manifest"]["Digest"]);
    }
    // A peer reads our export: skopeo sees the same manifest digest.
    if require_tool("export_then_import_gives_identical_digests", "skopeo") {
        let output = minibox_testkit::run(
            std::process::Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:v1", out_dir.display())),
        );
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "skopeo inspect: {stderr}");
        assert_eq!(
            format!("sha256:{}", hex(stdout.as_bytes())),
            image.manifest_digest
        );
    }
}

#[test]
fn an_index_picks_this_platform_and_skips_attestations() {
    if !require_root("an_index_picks_this_platform_and_skips_attestations") {
        return;
    }
    let scratch = Scratch::new();
    let here = ImageBuilder::new()
        .layer(Layer::new().host_file("busybox", &busybox(), 0o755))
        .entrypoint(&["/busybox", "echo", "native"])
        .build();
    let other_arch = if host_architecture() == "amd64" {
        "arm64"
    } else {
        "amd64"
    };
    let other = ImageBuilder::new()
        .platform("linux", other_arch, None)
        .layer(Layer::new().file("foreign", b"not for this machine\n", 0o644))
        .build();
    let attestation = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "0".repeat(64)), "size": 2,
        "platform": { "os": "unknown", "architecture": "unknown" },
        "annotations": { "vnd.docker.reference.type": "attestation-manifest" },
    });
    let dir = scratch.path("multi");
    // As an oci-archive this time (the attestation's blob is not even there: it is never read).
    let archive = scratch.path("multi.tar");
    OciLayout::create(&dir)
        .add_index(&[&other, &here], &[attestation], "multi")
        .tar_to(&archive);
    scratch.ok(&["import", archive.to_str().unwrap(), "multi:1"]);
    assert_eq!(scratch.ok(&["run", "-q", "multi:1"]), "native\n");
    assert_eq!(
        inspect(&scratch, "multi:1")["Manifest"]["Digest"],
        here.manifest_digest
    );

    // A platform the index does not have: the error lists what it has.
    let output = scratch.cli(&[
        "--platform",
        "linux/s390x",
        "import",
        dir.to_str().unwrap(),
        "multi:2",
    ]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        stderr.contains("linux/s390x") && stderr.contains(&format!("linux/{other_arch}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("unknown"),
        "attestations are not offered: {stderr}"
    );
}

#[test]
fn a_docker_archive_from_skopeo_imports_to_the_same_diff_ids() {
    if !require_root("a_docker_archive_from_skopeo_imports_to_the_same_diff_ids")
        || !require_tool(
            "a_docker_archive_from_skopeo_imports_to_the_same_diff_ids",
            "skopeo",
        )
    {
        return;
    }
    let scratch = Scratch::new();
    let image = demo_image();
    let layout = layout_with(&scratch, "layout", &image, "v1");
    let archive = scratch.path("docker.tar");
    let output = minibox_testkit::run(
        std::process::Command::new("skopeo")
            .arg("copy")
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(format!(
                "docker-archive:{}:saved/demo:v1",
                archive.display()
            )),
    );
    assert!(output.status.success(), "skopeo copy: {}", text(&output).1);
    // No name given: docker's RepoTags name it.
    let name = scratch.ok(&["import", archive.to_str().unwrap()]);
    assert_eq!(name.trim(), "docker.io/saved/demo:v1");
    let info = inspect(&scratch, "saved/demo:v1");
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(info["RootFS"]["Layers"], serde_json::json!(diff_ids));
    assert_eq!(
        scratch.ok(&["run", "-q", "saved/demo:v1", "--", "cat", "/etc/hostname"]),
        "top\n"
    );
}

#[test]
fn a_rootfs_directory_or_tarball_becomes_one_deterministic_layer() {
    if !require_root("a_rootfs_directory_or_tarball_becomes_one_deterministic_layer") {
        return;
    }
    let scratch = Scratch::new();
    let rootfs = minibox_testkit::Rootfs::busybox();
    let first = scratch.ok(&[
        "import",
        rootfs.path().to_str().unwrap(),
        "rootfs:1",
        "--cmd",
        "/bin/sh -c ls",
    ]);
    assert_eq!(first.trim(), "docker.io/library/rootfs:1");
    let one = inspect(&scratch, "rootfs:1");
    // A second store, the same tree, later: the same digests.
    let other = Scratch::new();
    other.ok(&[
        "import",
        rootfs.path().to_str().unwrap(),
        "rootfs:1",
        "--cmd",
        "/bin/sh -c ls",
    ]);
    let two = inspect(&other, "rootfs:1");
    assert_eq!(one["Manifest"]["Digest"], two["Manifest"]["Digest"]);
    assert_eq!(one["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        scratch.ok(&["run", "-q", "rootfs:1", "--", "echo", "from a directory"]),
        "from a directory\n"
    );

    // A gzip'd tarball of the same tree: the same DiffID (the tar is the layer).
    let tarball = scratch.path("rootfs.tar.gz");
    let output = minibox_testkit::run(
        std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(rootfs.path())
            .arg("."),
    );
    assert!(output.status.success(), "tar: {}", text(&output).1);
    scratch.ok(&["import", tarball.to_str().unwrap(), "tarball:1"]);
    assert_eq!(
        scratch.ok(&["run", "-q", "tarball:1", "--", "echo", "from a tarball"]),
        "from a tarball\n"
    );
}

#[test]
fn from_scratch_one_static_binary_is_a_whole_image() {
    if !require_root("from_scratch_one_static_binary_is_a_whole_image") {
        return;
    }
    let scratch = Scratch::new();
    // FROM scratch / COPY busybox / ENTRYPOINT ["/busybox"]: one file, nothing else.
    let image = ImageBuilder::new()
        .layer(Layer::new().host_file("busybox", &busybox(), 0o755))
        .entrypoint(&["/busybox"])
        .cmd(&[
            "echo",
            "a container is a process; an image is only its files",
        ])
        .build();
    let layout = layout_with(&scratch, "scratch-image", &image, "latest");
    scratch.ok(&["import", layout.to_str().unwrap(), "scratch-busybox"]);
    assert_eq!(
        scratch.ok(&["run", "-q", "scratch-busybox"]),
        "a container is a process; an image is only its files\n"
    );
    // The whole root: the binary, and what chapter 02 mounts (dev, proc, sys).
    let ls = scratch.ok(&["run", "-q", "scratch-busybox", "--", "ls", "/"]);
    assert_eq!(
        ls.split_whitespace().collect::<Vec<_>>(),
        ["busybox", "dev", "proc", "sys"]
    );
}

#[test]
fn docker_v2_schema2_manifests_and_manifest_lists_are_understood() {
    if !require_root("docker_v2_schema2_manifests_and_manifest_lists_are_understood") {
        return;
    }
    let scratch = Scratch::new();
    let built = ImageBuilder::new()
        .layer(Layer::new().host_file("busybox", &busybox(), 0o755))
        .entrypoint(&["/busybox", "echo", "schema 2"])
        .build();
    // The same config and layer, described with Docker's media types, inside a manifest list.
    let dir = scratch.path("docker-types");
    let layout = OciLayout::create(&dir).add(&built, "unused");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "digest": built.config_digest, "size": built.config.len() },
        "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": built.layers[0].digest, "size": built.layers[0].blob.len() }],
    }))
    .unwrap();
    let manifest_digest = minibox_testkit::oci::sha256(&manifest);
    std::fs::write(layout.blob_path(&manifest_digest), &manifest).unwrap();
    let mut platform = serde_json::json!({ "os": "linux", "architecture": host_architecture() });
    if host_architecture() == "arm64" {
        platform["variant"] = serde_json::json!("v8");
    }
    let list = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [{ "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": manifest_digest, "size": manifest.len(), "platform": platform }],
    }))
    .unwrap();
    let list_digest = minibox_testkit::oci::sha256(&list);
    std::fs::write(layout.blob_path(&list_digest), &list).unwrap();
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "digest": list_digest, "size": list.len(),
        "annotations": { "org.opencontainers.image.ref.name": "docker.io/library/dockerish:1" } }] });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();

    let name = scratch.ok(&["import", dir.to_str().unwrap()]);
    assert_eq!(name.trim(), "docker.io/library/dockerish:1");
    assert_eq!(scratch.ok(&["run", "-q", "dockerish:1"]), "schema 2\n");
    let info = inspect(&scratch, "dockerish:1");
    assert_eq!(info["Manifest"]["Digest"], manifest_digest);
    assert_eq!(info["Manifest"]["Target"], list_digest);
}

#[test]
fn a_numeric_user_runs_the_command_and_history_lists_the_steps() {
    if !require_root("a_numeric_user_runs_the_command_and_history_lists_the_steps") {
        return;
    }
    let scratch = Scratch::new();
    let image = ImageBuilder::new()
        .layer(base_layer())
        .layer(top_layer())
        .user("1000:1000")
        .cmd(&[
            "/bin/busybox",
            "sh",
            "-c",
            "id -u; id -g; id -G; touch /data/mine && stat -c %u /data/mine",
        ])
        .build();
    let layout = layout_with(&scratch, "layout", &image, "v1");
    scratch.ok(&["import", layout.to_str().unwrap(), "user:1"]);
    // Supplementary groups are dropped too: only the image's group remains.
    assert_eq!(
        scratch.ok(&["run", "-q", "user:1"]),
        "1000\n1000\n1000\n1000\n"
    );
    let history = scratch.ok(&["history", "user:1"]);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert!(
        rows[1].starts_with(&image.config_digest[7..19]) && rows[1].contains("layer 1"),
        "{history}"
    );
    assert!(
        rows[2].starts_with("<missing>") && rows[2].contains("layer 0"),
        "{history}"
    );

    // A named user is refused with what to do, before anything starts.
    let named = ImageBuilder::new()
        .layer(base_layer())
        .user("nobody")
        .cmd(&["/bin/busybox", "true"])
        .build();
    let layout = layout_with(&scratch, "named", &named, "v1");
    scratch.ok(&["import", layout.to_str().unwrap(), "named:1"]);
    let output = scratch.cli(&["run", "-q", "named:1"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(125));
    assert!(stderr.contains("only numeric UID[:GID]"), "{stderr}");
}
