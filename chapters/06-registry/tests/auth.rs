//! Authentication against real registries: htpasswd (Basic) and the Docker
//! Hub token flow (Bearer, with our token server), login and logout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::token::{TokenServer, ISSUER, SERVICE};
use common::*;
use minibox_testkit::registry::{htpasswd, Registry, RegistryAuth, RegistryOptions};
use minibox_testkit::{require_root, require_tool, text};
use std::io::Write;
use std::process::Stdio;

fn tools(test: &str) -> bool {
    require_root(test)
        && require_tool(test, "docker-registry")
        && require_tool(test, "skopeo")
        && require_tool(test, "htpasswd")
        && require_tool(test, "openssl")
}

/// `ch06-registry ARGS` with `password` on stdin.
fn with_password(env: &Env, args: &[&str], password: &str) -> std::process::Output {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn basic_auth_needs_a_login_and_login_is_kept_like_docker() {
    if !tools("basic_auth_needs_a_login_and_login_is_kept_like_docker") {
        return;
    }
    let env = Env::new();
    let file = htpasswd(env.dir.path(), "alice", "wonderland");
    let registry = Registry::start(RegistryOptions {
        auth: RegistryAuth::Htpasswd { file },
        ..Default::default()
    });
    let oci = env.path("oci");
    let image = small_image("basic\n");
    layout(&oci, &image, "v1");
    let reference = format!("{}/private/img:v1", registry.address());
    skopeo_push(&oci, "v1", &reference, Some("alice:wonderland"));

    // Without credentials: an error that says to log in.
    let out = env.ch06(&["pull", &reference]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "log in with `ch06-registry login {}`",
            registry.address()
        )),
        "{stderr}"
    );

    // A wrong password is refused at login and nothing is saved.
    let out = with_password(
        &env,
        &[
            "login",
            &registry.address(),
            "-u",
            "alice",
            "--password-stdin",
        ],
        "nope",
    );
    assert!(!out.status.success(), "{}", text(&out).1);
    assert!(
        text(&out).1.contains("refused the credentials"),
        "{}",
        text(&out).1
    );
    assert!(!env.path("docker/config.json").exists());

    let out = with_password(
        &env,
        &[
            "login",
            &registry.address(),
            "-u",
            "alice",
            "--password-stdin",
        ],
        "wonderland",
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("docker/config.json")).unwrap()).unwrap();
    // docker's format: base64("alice:wonderland").
    assert_eq!(
        config["auths"][registry.address()]["auth"],
        "YWxpY2U6d29uZGVybGFuZA=="
    );

    let (_, stderr) = env.ok(&["--trace-http", "pull", &reference]);
    assert!(stderr.contains("WWW-Authenticate: Basic"), "{stderr}");
    assert!(
        stderr.contains("Authorization: Basic <redacted>"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("YWxpY2U6d29uZGVybGFuZA"),
        "a secret was traced:\n{stderr}"
    );
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        image.manifest_digest
    );

    env.ok(&["logout", &registry.address()]);
    let out = env.ch06(&["tags", &format!("{}/private/img", registry.address())]);
    assert!(!out.status.success());
    // Credentials from the environment work without login.
    let out = env
        .command(&["tags", &format!("{}/private/img", registry.address())])
        .env("MINIBOX_REGISTRY_USER", "alice")
        .env("MINIBOX_REGISTRY_PASSWORD", "wonderland")
        .output()
        .unwrap();
    assert_eq!(text(&out).0.trim(), "v1", "{}", text(&out).1);
}

#[test]
fn token_auth_the_docker_hub_flow() {
    if !tools("token_auth_the_docker_hub_flow") {
        return;
    }
    let env = Env::new();
    let tokens = TokenServer::start(env.dir.path(), "bob", "builder");
    let registry = Registry::start(RegistryOptions {
        auth: RegistryAuth::Token {
            realm: tokens.realm(),
            service: SERVICE.into(),
            issuer: ISSUER.into(),
            cert: tokens.cert.clone(),
        },
        ..Default::default()
    });
    let oci = env.path("oci");
    let image = busybox_image("token\n");
    layout(&oci, &image, "v1");
    let reference = format!("{}/public/img:v1", registry.address());
    skopeo_push(&oci, "v1", &reference, Some("bob:builder"));

    // Anonymous pull: 401 → token for repository:public/img:pull → Bearer.
    let (_, stderr) = env.ok(&["--trace-http", "--curl", "pull", &reference]);
    // The transcript (see it with --nocapture).
    eprintln!("{stderr}");
    assert!(
        stderr.contains(&format!(
            "WWW-Authenticate: Bearer realm=\"{}\"",
            tokens.realm()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("scope=repository%3Apublic%2Fimg%3Apull"),
        "{stderr}"
    );
    assert!(stderr.contains("TOKEN=$(curl -sS"), "{stderr}");
    assert!(
        stderr.contains("Authorization: Bearer <redacted>"),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "a token was traced:\n{stderr}");
    assert_eq!(
        stored_manifest_digest(&env, &reference),
        image.manifest_digest
    );
    // One token for the whole pull: cached per registry and scope.
    let anonymous: Vec<_> = tokens
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.user.is_none())
        .cloned()
        .collect();
    assert_eq!(anonymous.len(), 1, "{anonymous:?}");

    // Anonymous push: the token grants no push, the registry says 401.
    let dest = format!("{}/public/copy:v1", registry.address());
    let out = env.ch06(&["push", &reference, &dest]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr.contains("wants credentials"), "{stderr}");

    // With credentials: pushed, and skopeo reads it back.
    let out = with_password(
        &env,
        &["push", "-u", "bob", "--password-stdin", &reference, &dest],
        "builder",
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let back = env.path("back");
    assert_eq!(
        index_digest(&skopeo_pull(&dest, &back, "v1", Some("bob:builder"))),
        image.manifest_digest
    );

    // A wrong password: the token server refuses, and we say so.
    let out = with_password(
        &env,
        &[
            "login",
            &registry.address(),
            "-u",
            "bob",
            "--password-stdin",
        ],
        "x",
    );
    assert!(
        text(&out).1.contains("check the user and password"),
        "{}",
        text(&out).1
    );
}
