//! Bad networks, through a fault-injecting proxy in front of a real
//! registry: the pull completes with verified content or fails with a clear
//! error — and the store never holds a partial or wrong blob.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::proxy::{Cdn, Fault, FaultProxy, Rule};
use common::*;
use minibox_testkit::oci::BuiltImage;
use minibox_testkit::registry::{htpasswd, Registry, RegistryAuth, RegistryOptions};
use minibox_testkit::{require_root, require_tool, text};

fn tools(test: &str) -> bool {
    require_root(test) && require_tool(test, "docker-registry") && require_tool(test, "skopeo")
}

/// A registry holding `image` as `demo/img:v1`.
fn registry_with(
    env: &Env,
    image: &BuiltImage,
    options: RegistryOptions,
    creds: Option<&str>,
) -> Registry {
    let registry = Registry::start(options);
    let oci = env.path("oci");
    layout(&oci, image, "v1");
    skopeo_push(
        &oci,
        "v1",
        &format!("{}/demo/img:v1", registry.address()),
        creds,
    );
    registry
}

/// The biggest layer: the one the faults hit.
fn big_layer(image: &BuiltImage) -> &minibox_testkit::oci::BuiltLayer {
    image.layers.iter().max_by_key(|l| l.blob.len()).unwrap()
}

fn rule(path: &str, fault: Fault, times: usize) -> Rule {
    Rule {
        method: "GET".into(),
        path_contains: path.to_string(),
        fault,
        times,
    }
}

/// Pulls through `proxy`; asserts success and a verified store.
fn pull_ok(env: &Env, proxy: &FaultProxy, image: &BuiltImage) -> String {
    let reference = format!("{}/demo/img:v1", proxy.address());
    let (_, stderr) = env.ok(&["--trace-http", "pull", &reference]);
    assert_eq!(
        stored_manifest_digest(env, &reference),
        image.manifest_digest
    );
    for layer in &image.layers {
        let stored = std::fs::read(
            env.store()
                .join("blobs/sha256")
                .join(layer.digest.trim_start_matches("sha256:")),
        )
        .unwrap();
        assert_eq!(stored, layer.blob, "layer {} differs", layer.digest);
    }
    assert!(
        env.store_tmp_entries().is_empty(),
        "{:?}",
        env.store_tmp_entries()
    );
    stderr
}

#[test]
fn a_dropped_connection_resumes_with_range() {
    if !tools("a_dropped_connection_resumes_with_range") {
        return;
    }
    let env = Env::new();
    let image = busybox_image("resume\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let layer = big_layer(&image);
    let quarter = layer.blob.len() / 4;
    // Twice: the second cut hits the resumed request.
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::DropAfter(quarter), 2)],
    );
    let stderr = pull_ok(&env, &proxy, &image);
    let ranges: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.target.contains(&layer.digest))
        .map(|s| s.range)
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert_eq!(ranges[0], None);
    assert_eq!(ranges[1], Some(format!("bytes={quarter}-")), "{stderr}");
    assert_eq!(
        ranges[2],
        Some(format!("bytes={}-", 2 * quarter)),
        "{stderr}"
    );
    assert!(stderr.contains("resuming with Range"), "{stderr}");
    eprintln!("{stderr}");
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    if !tools("server_errors_and_rate_limits_are_retried") {
        return;
    }
    let env = Env::new();
    let image = small_image("retry\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let layer = &image.layers[0];
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![
            rule("/manifests/v1", Fault::Status(500), 1),
            rule(&layer.digest, Fault::TooMany(1), 1),
            rule(&layer.digest, Fault::Status(503), 1),
        ],
    );
    let stderr = pull_ok(&env, &proxy, &image);
    assert!(
        stderr.contains("< 429 Too Many Requests") && stderr.contains("Retry-After: 1"),
        "{stderr}"
    );
    let blob_requests: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.target.contains(&layer.digest))
        .collect();
    assert_eq!(blob_requests.len(), 3, "{blob_requests:?}");
    // Retry-After: 1 was honoured (the next try came no sooner).
    let waited = blob_requests[1].at.duration_since(blob_requests[0].at);
    assert!(waited.as_millis() >= 950, "retried after {waited:?}");
}

#[test]
fn a_truncated_body_is_completed_with_range() {
    if !tools("a_truncated_body_is_completed_with_range") {
        return;
    }
    let env = Env::new();
    let image = busybox_image("short\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let layer = big_layer(&image);
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::Truncate(1000), 1)],
    );
    let stderr = pull_ok(&env, &proxy, &image);
    assert!(stderr.contains("ended at byte 1000"), "{stderr}");
}

#[test]
fn a_flipped_byte_is_fetched_again_once_then_refused() {
    if !tools("a_flipped_byte_is_fetched_again_once_then_refused") {
        return;
    }
    let env = Env::new();
    let image = busybox_image("flip\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let layer = big_layer(&image);

    // Once: thrown away, fetched again, verified.
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::FlipByte(100), 1)],
    );
    let stderr = pull_ok(&env, &proxy, &image);
    assert!(stderr.contains("downloading it once more"), "{stderr}");

    // Always: refused, and nothing of it in the store.
    let env = Env::new();
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::FlipByte(100), 10)],
    );
    let reference = format!("{}/demo/img:v1", proxy.address());
    let out = env.ch06(&["pull", &reference]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains(&format!("blob {}", layer.digest)) && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(!env.has_blob(&layer.digest));
    assert!(
        env.store_tmp_entries().is_empty(),
        "{:?}",
        env.store_tmp_entries()
    );
    assert!(
        !env.store().join("refs.json").exists()
            || !std::fs::read_to_string(env.store().join("refs.json"))
                .unwrap()
                .contains("demo/img")
    );
}

#[test]
fn endless_server_errors_fail_clearly_within_bounds() {
    if !tools("endless_server_errors_fail_clearly_within_bounds") {
        return;
    }
    let env = Env::new();
    let image = small_image("down\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&image.layers[0].digest, Fault::Status(502), 100)],
    );
    let reference = format!("{}/demo/img:v1", proxy.address());
    let out = env.ch06(&["pull", &reference]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("answered 502"), "{stderr}");
    let tries = proxy.seen().iter().filter(|s| s.fault.is_some()).count();
    assert_eq!(tries, 5, "bounded in count");
    assert!(!env.has_blob(&image.layers[0].digest));
    assert!(env.store_tmp_entries().is_empty());
}

#[test]
fn a_redirect_to_another_host_gets_no_authorization() {
    if !tools("a_redirect_to_another_host_gets_no_authorization")
        || !require_tool("redirect", "htpasswd")
    {
        return;
    }
    let env = Env::new();
    let image = small_image("cdn\n");
    let file = htpasswd(env.dir.path(), "carol", "secret");
    let registry = registry_with(
        &env,
        &image,
        RegistryOptions {
            auth: RegistryAuth::Htpasswd { file },
            ..Default::default()
        },
        Some("carol:secret"),
    );
    let layer = &image.layers[0];
    let cdn = Cdn::start(vec![(layer.digest.clone(), layer.blob.clone())]);
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::Redirect(cdn.base()), 1)],
    );
    let reference = format!("{}/demo/img:v1", proxy.address());
    let out = env
        .command(&["--trace-http", "pull", &reference])
        .env("MINIBOX_REGISTRY_USER", "carol")
        .env("MINIBOX_REGISTRY_PASSWORD", "secret")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("< 307") && stderr.contains(&cdn.base()),
        "{stderr}"
    );
    let to_registry = proxy
        .seen()
        .into_iter()
        .find(|s| s.target.contains(&layer.digest))
        .unwrap();
    assert!(to_registry.authorization, "the registry got no credentials");
    let to_cdn = cdn.seen.lock().unwrap().clone();
    assert_eq!(to_cdn.len(), 1);
    assert!(
        !to_cdn[0].authorization,
        "Authorization was forwarded to another host"
    );
    assert!(env.has_blob(&layer.digest));
}

#[test]
fn endless_rate_limits_say_wait_or_use_a_mirror() {
    if !tools("endless_rate_limits_say_wait_or_use_a_mirror") {
        return;
    }
    let env = Env::new();
    let image = small_image("429\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule("/manifests/", Fault::TooMany(1), 100)],
    );
    let out = env.ch06(&["pull", &format!("{}/demo/img:v1", proxy.address())]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("rate limiting us (429)") && stderr.contains("--registry-mirror"),
        "{stderr}"
    );
    assert_eq!(proxy.seen().len(), 6, "a ping and 5 tries");
}

#[test]
fn a_pull_killed_mid_blob_leaves_no_blob_and_the_next_one_completes() {
    if !tools("a_pull_killed_mid_blob_leaves_no_blob_and_the_next_one_completes") {
        return;
    }
    let env = Env::new();
    let image = busybox_image("killed\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let layer = big_layer(&image);
    let proxy = FaultProxy::start(
        &registry.address(),
        vec![rule(&layer.digest, Fault::Stall(100_000), 1)],
    );
    let reference = format!("{}/demo/img:v1", proxy.address());
    let mut child = env
        .command(&["pull", &reference])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !proxy.seen().iter().any(|s| s.fault.is_some()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the pull never reached the layer"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGKILL: no destructor runs; only the store's tmp/ may hold debris.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(!env.has_blob(&layer.digest), "a partial blob is in blobs/");
    assert!(!std::fs::read_to_string(env.store().join("refs.json"))
        .unwrap_or_default()
        .contains("demo/img"));

    let stderr = pull_ok(&env, &proxy, &image);
    assert!(stderr.contains("Pull complete"), "{stderr}");
}

#[test]
fn manifests_are_checked_digest_size_and_type() {
    if !tools("manifests_are_checked_digest_size_and_type") {
        return;
    }
    let env = Env::new();
    let image = small_image("manifest\n");
    let registry = registry_with(&env, &image, Default::default(), None);
    let pull = |rule: Rule| {
        let proxy = FaultProxy::start(&registry.address(), vec![rule]);
        let out = env.ch06(&["pull", &format!("{}/demo/img:v1", proxy.address())]);
        assert_eq!(out.status.code(), Some(125));
        text(&out).1
    };
    // One byte changed: it no longer hashes to Docker-Content-Digest.
    let stderr = pull(rule("/manifests/v1", Fault::FlipByte(20), 1));
    assert!(
        stderr.contains(&format!("not {}: refused", image.manifest_digest)),
        "{stderr}"
    );
    // 5 MiB of "manifest": over the cap, not read further.
    let big = Fault::Rewrite {
        body: Some(vec![b' '; 5 << 20]),
        headers: vec![],
    };
    let stderr = pull(rule("/manifests/v1", big, 1));
    assert!(stderr.contains("is larger than 4194304 bytes"), "{stderr}");
    // The header and the body disagree on what this is.
    let mislabelled = Fault::Rewrite {
        body: None,
        headers: vec![(
            "Content-Type".into(),
            "application/vnd.docker.distribution.manifest.v2+json".into(),
        )],
    };
    let stderr = pull(rule("/manifests/v1", mislabelled, 1));
    assert!(stderr.contains("says Content-Type application/vnd.docker.distribution.manifest.v2+json but the manifest says mediaType"), "{stderr}");
    assert!(
        !env.store().join("refs.json").exists()
            || !std::fs::read_to_string(env.store().join("refs.json"))
                .unwrap()
                .contains("demo/img")
    );
}

#[test]
fn a_push_whose_patch_answer_is_lost_starts_a_new_session() {
    if !tools("a_push_whose_patch_answer_is_lost_starts_a_new_session") {
        return;
    }
    let env = Env::new();
    let image = small_image("upload\n");
    let source = registry_with(&env, &image, Default::default(), None);
    let reference = format!("{}/demo/img:v1", source.address());
    env.ok(&["pull", &reference]);
    let target = Registry::start(Default::default());
    // The registry gets the bytes; we never hear its 202.
    let proxy = FaultProxy::start(
        &target.address(),
        vec![Rule {
            method: "PATCH".into(),
            path_contains: "/blobs/uploads/".into(),
            fault: Fault::Swallow,
            times: 1,
        }],
    );
    let destination = format!("{}/copy/img:v1", proxy.address());
    let (_, stderr) = env.ok(&["push", &reference, &destination]);
    assert!(
        stderr.contains("uploading it again in a new session"),
        "{stderr}"
    );
    let back = env.path("back");
    let index = skopeo_pull(
        &format!("{}/copy/img:v1", target.address()),
        &back,
        "v1",
        None,
    );
    assert_eq!(index_digest(&index), image.manifest_digest);
}
