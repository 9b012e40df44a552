//! No mount leaks out of the container — checked where a leak would show:
//! the runtime runs in a mount namespace whose "/" is rshared, as on a
//! systemd host (this machine's "/" is private, which hides such bugs).

// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

mod common;

use common::*;
use minibox_testkit::bounded::output_within;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, unique_name};
use serde_json::json;
use std::process::Stdio;

#[test]
fn no_mount_of_the_container_reaches_an_rshared_host() {
    if !require_root("no_mount_of_the_container_reaches_an_rshared_host") {
        return;
    }
    let shared = SharedRoot::new();
    assert!(
        shared.root_is_shared(),
        "the test's namespace has an rshared /"
    );
    let root = Root::new();
    let volume = tempfile::tempdir().expect("tempdir");
    for propagation in ["rprivate", "rslave", "rshared", "private"] {
        let mut bundle = Bundle::new(&["sleep", "1000"]);
        bundle.config["linux"]["rootfsPropagation"] = propagation.into();
        let mounts = bundle.config["mounts"].as_array_mut().expect("mounts");
        mounts.push(json!({"destination": "/data", "type": "bind", "source": volume.path(), "options": ["rbind", "rshared"]}));
        mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]}));
        bundle.write();
        let id = unique_name("prop");
        let logs = tempfile::tempdir().expect("tempdir");
        let out = std::fs::File::create(logs.path().join("out")).expect("out");
        let mut create = shared.command(runtime_bin());
        create
            .arg("--root")
            .arg(root.dir.path())
            .args(["create", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("out"))
            .stderr(out);
        let status = create.status().expect("create");
        assert!(
            status.success(),
            "create ({propagation}): {}",
            std::fs::read_to_string(logs.path().join("out")).unwrap_or_default()
        );
        let mut start = shared.command(runtime_bin());
        start
            .arg("--root")
            .arg(root.dir.path())
            .args(["start", &id]);
        assert!(output_within(&mut start, LIMIT).status.success());
        root.wait_status(&id, "running");
        // While it runs: the container's rootfs, /proc, /dev, tmpfs and bind
        // mounts exist in its own namespace only.
        let leaked = shared.mounts_under(bundle.path());
        assert!(
            leaked.is_empty(),
            "rootfsPropagation {propagation}: mounts leaked to the (rshared) host: {leaked:#?}"
        );
        let leaked = shared.mounts_under(&bundle.rootfs().canonicalize().expect("rootfs"));
        assert!(
            leaked.is_empty(),
            "rootfsPropagation {propagation}: mounts leaked: {leaked:#?}"
        );
        assert!(root.run(&["delete", "--force", &id]).status.success());
    }
    assert!(shared.mounts_under(volume.path()).is_empty());
}
