//! The book's solutions, run against the real kernel: each must do what its
//! exercise's "how to check your work" block says.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use minibox_testkit::{require_root, run, text, Rootfs};
use std::process::Command;

#[test]
fn ch02_peek_prints_the_host_view_of_the_waiting_child() {
    if !require_root("ch02_peek_prints_the_host_view_of_the_waiting_child") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch02-peek"))
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "id", "-u"]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("host view of PID"), "{stdout}");
    // The map chapter 02 writes: container root = host uid 100000.
    let map = stdout
        .lines()
        .find(|l| l.starts_with("uid_map:"))
        .expect("a uid_map line");
    assert_eq!(
        map.split_whitespace().collect::<Vec<_>>(),
        ["uid_map:", "0", "100000", "65536"]
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "0"),
        "id -u inside prints 0: {stdout}"
    );
}

#[test]
fn ch03_memory_of_finds_this_processs_memory_cgroup() {
    let out =
        run(Command::new(env!("CARGO_BIN_EXE_sol-ch03-memory-of"))
            .arg(std::process::id().to_string()));
    let (stdout, stderr) = text(&out);
    if stderr.contains("no memory controller on this host") {
        return; // a machine without the memory controller: nothing to find
    }
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let (file, rest) = stdout.trim().split_once(": ").expect("FILE: N bytes");
    assert!(std::path::Path::new(file).is_file(), "{file} exists");
    let bytes: u64 = rest.trim_end_matches(" bytes").parse().expect("a number");
    assert!(bytes > 0, "this test's cgroup uses some memory");
}

#[test]
fn ch03_memory_of_says_so_for_a_pid_that_does_not_exist() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch03-memory-of")).arg("999999999"));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no process 999999999"), "{stderr}");
}

#[test]
fn ch04_diff_reads_additions_changes_and_whiteouts() {
    if !require_root("ch04_diff_reads_additions_changes_and_whiteouts") {
        return; // a whiteout is a 0/0 device node: mknod needs root
    }
    let dir = tempfile::tempdir().unwrap();
    let (upper, lower) = (dir.path().join("upper"), dir.path().join("lower"));
    std::fs::create_dir_all(lower.join("etc")).unwrap();
    std::fs::write(lower.join("etc/motd"), "hello\n").unwrap();
    std::fs::create_dir_all(upper.join("etc")).unwrap();
    std::fs::create_dir_all(upper.join("root")).unwrap();
    std::fs::write(upper.join("root/notes"), "hi\n").unwrap();
    nix::sys::stat::mknod(
        &upper.join("etc/motd"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
        0,
    )
    .unwrap();
    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch04-diff"))
        .arg(&upper)
        .arg(&lower));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["C /etc", "D /etc/motd", "A /root", "A /root/notes"]
    );
}

#[test]
fn ch05_fsck_names_a_blob_whose_bytes_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let digest = {
        let store = ch05_images::Store::open(&root).unwrap();
        store.put_blob(None, b"a blob of the book\n").unwrap()
    };
    let fsck = || run(Command::new(env!("CARGO_BIN_EXE_sol-ch05-fsck")).arg(&root));
    let out = fsck();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("1 blob(s), 0 bad; 0 image(s), 0 broken"),
        "{stdout}"
    );

    // Blobs are read-only (0444): make it writable, then change one byte.
    let blob = root.join("blobs/sha256").join(digest.hex());
    std::fs::set_permissions(&blob, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&blob, b"a blob of the boot\n").unwrap();
    let out = fsck();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("BAD {digest}: its bytes hash to sha256:")),
        "{stdout}"
    );
    assert!(stdout.contains("1 blob(s), 1 bad"), "{stdout}");
}

#[test]
fn ch07_caps_decodes_docker_default_and_a_drop() {
    let caps = |hex: &str| {
        let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch07-caps")).arg(hex));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
        stdout
    };
    let docker = caps("00000000a80425fb");
    assert!(
        docker.starts_with("14 capabilities: AUDIT_WRITE CHOWN"),
        "{docker}"
    );
    assert!(docker.contains("same as docker's default set"), "{docker}");
    // Bit 13 is CAP_NET_RAW: what --cap-drop NET_RAW leaves.
    let no_raw = caps("00000000a80405fb");
    assert!(no_raw.contains("missing: NET_RAW"), "{no_raw}");
    assert!(!no_raw.contains("extra:"), "{no_raw}");
    // CAP_SYS_ADMIN (bit 21) on top: an extra.
    let admin = caps("00000000a82425fb");
    assert!(admin.contains("extra: SYS_ADMIN"), "{admin}");
}

#[test]
fn ch05_tag_gives_an_image_a_second_name_sharing_its_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, root) = (dir.path().join("tree"), dir.path().join("store"));
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/motd"), "tagged\n").unwrap();
    {
        let store = ch05_images::Store::open(&root).unwrap();
        let options = ch05_images::import::ImportOptions {
            name: Some(ch05_images::Reference::parse("book:1").unwrap()),
            platform: ch05_images::Platform::host(),
            cmd: None,
        };
        ch05_images::import::import(&store, &tree, &options).unwrap();
    }
    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch05-tag"))
        .arg(&root)
        .args(["book:1", "mine:2"]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.starts_with("docker.io/library/mine:2 → sha256:"),
        "{stdout}"
    );

    let store = ch05_images::Store::open(&root).unwrap();
    let images = store.images().unwrap();
    let names: Vec<String> = images.iter().map(|i| i.reference.to_string()).collect();
    assert_eq!(
        names,
        ["docker.io/library/book:1", "docker.io/library/mine:2"]
    );
    assert_eq!(images[0].id, images[1].id, "one image, two names");
    let layers = std::fs::read_dir(root.join("layers/sha256"))
        .unwrap()
        .count();
    assert_eq!(layers, 1, "the layer is stored and unpacked once");

    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch05-tag"))
        .arg(&root)
        .args(["nothing:here", "other:1"]));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("finding docker.io/library/nothing:here"),
        "{stderr}"
    );
}

#[test]
fn ch06_claims_decodes_the_middle_of_a_token() {
    // header.claims.signature; the claims as Docker Hub's token server writes
    // them, base64url without padding (made with `base64 -w0 | tr '+/' '-_' | tr -d =`).
    let claims = r#"{"access":[{"type":"repository","name":"library/busybox","actions":["pull"]}],"aud":"registry.docker.io","exp":1764579600}"#;
    let encoded = base64url(claims.as_bytes());
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{encoded}.c2lnbmF0dXJl");
    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch06-claims")).arg(&token));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value["aud"], "registry.docker.io");
    assert_eq!(value["access"][0]["actions"][0], "pull");

    let out = run(Command::new(env!("CARGO_BIN_EXE_sol-ch06-claims")).arg("not-a-token"));
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("three parts"), "{stderr}");
}

/// base64url without padding, the test's own (independent of the solution's decoder).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
