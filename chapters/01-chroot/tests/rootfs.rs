//! The busybox root filesystem builder.

use ch01_chroot::rootfs::{create_busybox_rootfs, find_busybox, is_statically_linked, MARKER};
use minibox_testkit::require_tool;

#[test]
fn builds_a_complete_rootfs_and_is_idempotent() {
    if !require_tool("builds_a_complete_rootfs_and_is_idempotent", "/bin/busybox") {
        return;
    }
    let parent = tempfile::tempdir().expect("tempdir");
    let target = parent.path().join("rootfs");
    let busybox = find_busybox().expect("busybox");
    create_busybox_rootfs(&target, &busybox).expect("create");
    assert!(target.join(MARKER).is_file());
    assert!(target.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(target.join("bin/sh")).expect("sh link"),
        std::path::Path::new("/bin/busybox")
    );
    // Again: a no-op, not an error.
    create_busybox_rootfs(&target, &busybox).expect("idempotent");
    // Nothing but the rootfs was left in the parent (no staging directory).
    let entries: Vec<_> = std::fs::read_dir(parent.path()).expect("read").collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn refuses_a_non_empty_directory_and_leaves_it_alone() {
    let parent = tempfile::tempdir().expect("tempdir");
    std::fs::write(parent.path().join("precious"), "data").expect("write");
    let err =
        create_busybox_rootfs(parent.path(), std::path::Path::new("/bin/busybox")).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(parent.path().join("precious")).expect("read"),
        "data"
    );
}

#[test]
fn a_dynamically_linked_binary_is_refused() {
    // The test binary itself is dynamically linked.
    let me = std::env::current_exe().expect("current exe");
    assert!(!is_statically_linked(&me).expect("read elf"));
    let parent = tempfile::tempdir().expect("tempdir");
    let err = create_busybox_rootfs(&parent.path().join("r"), &me).unwrap_err();
    assert!(err.to_string().contains("busybox-static"), "{err}");
    assert!(!parent.path().join("r").exists());
}
