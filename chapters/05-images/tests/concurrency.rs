//! Many processes on one store: parallel imports of images that share
//! layers, gc racing them, rmi keeping what others share, kill -9 mid-import.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up its fixture has nothing to say

mod images;

use images::*;
use minibox_testkit::oci::{BuiltImage, Compression, ImageBuilder, Layer};
use minibox_testkit::{require_root, text};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Image `n`: the shared base layer plus a small layer of its own.
fn sibling(n: usize) -> BuiltImage {
    ImageBuilder::new()
        .layer(base_layer())
        .layer(Layer::new().file(
            &format!("own-{n}"),
            format!("image {n}\n").as_bytes(),
            0o644,
        ))
        .entrypoint(&["/bin/busybox", "cat", &format!("/own-{n}")])
        .build()
}

fn spawn_cli(scratch: &Scratch, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ch05-images"))
        .arg("--root")
        .arg(scratch.store())
        .args(args)
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ok(child: Child, what: &str) {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{what}: {}", text(&output).1);
}

const SIBLINGS: usize = 6;

#[test]
fn parallel_imports_sharing_layers_lose_nothing_even_with_gc_racing_them() {
    if !require_root("parallel_imports_sharing_layers_lose_nothing_even_with_gc_racing_them") {
        return;
    }
    let scratch = Scratch::new();
    let layouts: Vec<_> = (0..SIBLINGS)
        .map(|n| layout_with(&scratch, &format!("layout-{n}"), &sibling(n), "v1"))
        .collect();
    // Every import at once (real processes), and gc twice in the middle of them.
    let mut children = Vec::new();
    for (n, layout) in layouts.iter().enumerate() {
        let name = format!("sibling:{n}");
        children.push((
            format!("import {n}"),
            spawn_cli(&scratch, &["import", layout.to_str().unwrap(), &name]),
        ));
        if n == 2 || n == 4 {
            children.push(("gc".to_string(), spawn_cli(&scratch, &["gc"])));
        }
    }
    for (what, child) in children {
        wait_ok(child, &what);
    }
    // Every name is there, and every image is whole and runs.
    let ls = scratch.ok(&["ls"]);
    for n in 0..SIBLINGS {
        assert!(ls.contains(&format!(" {n} ")), "sibling:{n} lost: {ls}");
        assert_eq!(
            scratch.ok(&["run", "-q", &format!("sibling:{n}")]),
            format!("image {n}\n")
        );
    }
    // The base layer is unpacked once, shared by all: 1 + one own layer each.
    let layers = std::fs::read_dir(scratch.store().join("layers/sha256"))
        .unwrap()
        .count();
    assert_eq!(layers, 1 + SIBLINGS);
    assert_blobs_complete(&scratch.store());
    let refs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.store().join("refs.json")).unwrap()).unwrap();
    assert_eq!(refs["refs"].as_object().unwrap().len(), SIBLINGS);

    // rmi one: its own layer goes, the shared one stays for the others.
    scratch.ok(&["rmi", "sibling:0"]);
    assert_eq!(
        std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count(),
        SIBLINGS
    );
    assert_eq!(scratch.ok(&["run", "-q", "sibling:1"]), "image 1\n");
    for n in 1..SIBLINGS {
        scratch.ok(&["rmi", &format!("sibling:{n}")]);
    }
    // Nothing is left: no blob, no layer.
    assert_eq!(
        std::fs::read_dir(scratch.store().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count(),
        0
    );
    let fixtures: Vec<String> = (0..SIBLINGS).map(|n| format!("layout-{n}")).collect();
    scratch.assert_outside_untouched(&fixtures.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Bytes that do not compress (a xorshift stream): gzip takes its time on them.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Waits until an entry whose name starts with `prefix` appears in `dir`.
fn wait_for_entry(dir: &std::path::Path, prefix: &str, deadline: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        let found = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
            })
            .unwrap_or(false);
        if found {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn kill_9_during_an_import_leaves_nothing_half_done_and_the_next_import_works() {
    if !require_root("kill_9_during_an_import_leaves_nothing_half_done_and_the_next_import_works") {
        return;
    }
    let scratch = Scratch::new();
    let image = ImageBuilder::new()
        .layer(base_layer())
        .layer(
            Layer::new()
                .file("noise", &noise(16 << 20), 0o644)
                .compression(Compression::None),
        )
        .entrypoint(&["/bin/busybox", "stat", "-c", "%s", "/noise"])
        .build();
    let layout = layout_with(&scratch, "big", &image, "v1");
    let tmp = scratch.store().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // Once while a blob is being copied, once while a layer is being unpacked.
    for moment in ["blob-", "layer-"] {
        let mut child = spawn_cli(&scratch, &["import", layout.to_str().unwrap(), "big:1"]);
        assert!(
            wait_for_entry(&tmp, moment, Duration::from_secs(60)),
            "the import never reached {moment}"
        );
        child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs
        child.wait().unwrap();
        let leftovers = std::fs::read_dir(&tmp).unwrap().count();
        assert!(
            leftovers > 0,
            "the kill came too late to interrupt anything ({moment})"
        );
        // Nothing half-written is visible: blobs hash to their names, no layer, no name.
        assert_blobs_complete(&scratch.store());
        let layers = std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count();
        assert!(
            layers <= 1,
            "only a layer that was complete may be there ({moment}: {layers})"
        );
        assert!(
            !scratch.store().join("refs.json").exists(),
            "a killed import left a name"
        );
        // The leftovers are in tmp/ alone; the next process with the store to itself clears them.
        assert!(!scratch.ok(&["ls"]).contains("big"));
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "tmp/ leftovers survived"
        );
    }
    scratch.ok(&["import", layout.to_str().unwrap(), "big:1"]);
    assert_eq!(
        scratch.ok(&["run", "-q", "big:1"]),
        format!("{}\n", 16 << 20)
    );
    assert_blobs_complete(&scratch.store());
}

#[test]
fn sixteen_processes_naming_the_same_image_at_once_all_keep_their_name() {
    if !require_root("sixteen_processes_naming_the_same_image_at_once_all_keep_their_name") {
        return;
    }
    let scratch = Scratch::new();
    let layout = layout_with(&scratch, "layout", &sibling(0), "v1");
    // All unpack the same layers into their own temp dirs and race to rename
    // them into place; all rewrite refs.json. None may lose.
    let children: Vec<_> = (0..16)
        .map(|n| {
            (
                n,
                spawn_cli(
                    &scratch,
                    &["import", layout.to_str().unwrap(), &format!("same:{n}")],
                ),
            )
        })
        .collect();
    for (n, child) in children {
        wait_ok(child, &format!("import {n}"));
    }
    let refs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.store().join("refs.json")).unwrap()).unwrap();
    assert_eq!(refs["refs"].as_object().unwrap().len(), 16, "{refs:#}");
    assert_eq!(
        std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count(),
        2
    );
    assert_eq!(
        std::fs::read_dir(scratch.store().join("tmp"))
            .unwrap()
            .count(),
        0
    );
    assert_blobs_complete(&scratch.store());
    assert_eq!(scratch.ok(&["run", "-q", "same:15"]), "image 0\n");
}

#[test]
fn gc_waits_for_a_running_container_before_it_deletes_its_layers() {
    if !require_root("gc_waits_for_a_running_container_before_it_deletes_its_layers") {
        return;
    }
    let scratch = Scratch::new();
    let image = ImageBuilder::new()
        .layer(base_layer())
        .layer(Layer::new().file("own", b"x\n", 0o644))
        .build();
    let layout = layout_with(&scratch, "layout", &image, "v1");
    scratch.ok(&["import", layout.to_str().unwrap(), "busy:1"]);
    // The running container's ch05-images holds the store's lock, shared.
    let mut container = Command::new(env!("CARGO_BIN_EXE_ch05-images"))
        .arg("--root")
        .arg(scratch.store())
        .args([
            "run",
            "-q",
            "busy:1",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            "echo running; exec /bin/busybox sleep 600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(container.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "running\n");
    // rmi removes the name at once; its gc must wait for the container.
    let mut rmi = spawn_cli(&scratch, &["rmi", "busy:1"]);
    let refs = scratch.store().join("refs.json");
    let start = Instant::now();
    while std::fs::read_to_string(&refs).unwrap().contains("busy")
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !std::fs::read_to_string(&refs).unwrap().contains("busy"),
        "rmi never removed the name"
    );
    assert!(
        rmi.try_wait().unwrap().is_none(),
        "gc finished while the container ran"
    );
    assert_eq!(
        std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count(),
        2,
        "layers went while in use"
    );
    // SIGTERM is forwarded to the container; when it is gone, gc goes ahead.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(container.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    container.wait().unwrap();
    wait_ok(rmi, "rmi");
    assert_eq!(
        std::fs::read_dir(scratch.store().join("layers/sha256"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(scratch.store().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
}
