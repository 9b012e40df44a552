//! The overlay library on its own: mount overlayfs on the host (as root, in a
//! temporary directory, no namespaces), change things through it, and check
//! where the changes landed and what the diff says.

use ch04_overlay::{diff, mount_overlay, unmount_overlay, MountPlan, StateDir, XattrNamespace};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A mounted overlay on a bottom layer and a small layer above it; unmounted on drop.
struct Mounted {
    _tmp: tempfile::TempDir,
    lowers: Vec<PathBuf>,
    state: Option<StateDir>,
    merged: PathBuf,
}

impl Mounted {
    fn new() -> Mounted {
        let tmp = tempfile::Builder::new()
            .prefix("ch04-host-")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        let bottom = tmp.path().join("bottom");
        let top = tmp.path().join("top");
        write(&bottom.join("etc/motd"), "hello from the bottom layer\n");
        write(&bottom.join("etc/hostname"), "bottom\n");
        write(&bottom.join("data/a"), "a\n");
        write(&bottom.join("data/b"), "b\n");
        write(&top.join("etc/hostname"), "top\n");
        let lowers = vec![top, bottom];
        let state = StateDir::create(tmp.path(), "state-").unwrap_or_else(|e| panic!("{e}"));
        let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::Trusted)
            .unwrap_or_else(|e| panic!("{e}"));
        let merged = state.merged();
        mount_overlay(&plan, &merged).unwrap_or_else(|e| panic!("{e}"));
        Mounted {
            _tmp: tmp,
            lowers,
            state: Some(state),
            merged,
        }
    }

    fn state(&self) -> &StateDir {
        self.state
            .as_ref()
            .unwrap_or_else(|| panic!("state already removed"))
    }

    fn upper(&self) -> PathBuf {
        self.state().upper()
    }

    fn diff(&self) -> Vec<String> {
        diff(&self.upper(), &self.lowers, XattrNamespace::Trusted)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|c| c.to_string())
            .collect()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount_overlay(&self.merged);
        if let Some(state) = self.state.take() {
            let _ = state.remove();
        }
    }
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn reads_fall_through_top_layer_first() {
    if !minibox_testkit::require_root("reads_fall_through_top_layer_first") {
        return;
    }
    let m = Mounted::new();
    assert_eq!(
        read(&m.merged.join("etc/motd")),
        "hello from the bottom layer\n"
    );
    assert_eq!(read(&m.merged.join("etc/hostname")), "top\n");
    assert!(
        m.diff().is_empty(),
        "reading changes nothing: {:?}",
        m.diff()
    );
}

#[test]
fn writes_land_in_upper_and_never_in_lower() {
    if !minibox_testkit::require_root("writes_land_in_upper_and_never_in_lower") {
        return;
    }
    let m = Mounted::new();
    write(&m.merged.join("etc/motd"), "changed\n");
    write(&m.merged.join("new-file"), "new\n");
    assert_eq!(read(&m.merged.join("etc/motd")), "changed\n");
    // Copy-up: the whole file is now in upper/, the lower one is untouched.
    assert_eq!(read(&m.upper().join("etc/motd")), "changed\n");
    assert_eq!(
        read(&m.lowers[1].join("etc/motd")),
        "hello from the bottom layer\n"
    );
    assert_eq!(read(&m.upper().join("new-file")), "new\n");
    assert!(!m.lowers[0].join("new-file").exists() && !m.lowers[1].join("new-file").exists());
    assert_eq!(m.diff(), ["C /etc", "C /etc/motd", "A /new-file"]);
}

#[test]
fn deleting_a_lower_file_leaves_a_whiteout() {
    if !minibox_testkit::require_root("deleting_a_lower_file_leaves_a_whiteout") {
        return;
    }
    let m = Mounted::new();
    fs::remove_file(m.merged.join("etc/motd")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!m.merged.join("etc/motd").exists());
    assert!(
        m.lowers[1].join("etc/motd").exists(),
        "the lower file stays"
    );
    let whiteout =
        fs::symlink_metadata(m.upper().join("etc/motd")).unwrap_or_else(|e| panic!("{e}"));
    assert!(whiteout.file_type().is_char_device(), "{whiteout:?}");
    assert_eq!(whiteout.rdev(), 0, "a whiteout is device 0/0");
    assert_eq!(m.diff(), ["C /etc", "D /etc/motd"]);
}

#[test]
fn a_recreated_directory_is_opaque_and_hides_the_lower_one() {
    if !minibox_testkit::require_root("a_recreated_directory_is_opaque_and_hides_the_lower_one") {
        return;
    }
    let m = Mounted::new();
    fs::remove_dir_all(m.merged.join("data")).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir(m.merged.join("data")).unwrap_or_else(|e| panic!("{e}"));
    write(&m.merged.join("data/b"), "new b\n");
    let names: Vec<_> = fs::read_dir(m.merged.join("data"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["b"], "the lower data/a is hidden");
    assert!(ch04_overlay::whiteout::is_opaque(
        &m.upper().join("data"),
        XattrNamespace::Trusted
    ));
    assert_eq!(m.diff(), ["C /data", "D /data/a", "C /data/b"]);
}

#[test]
fn a_file_created_and_deleted_leaves_no_trace() {
    if !minibox_testkit::require_root("a_file_created_and_deleted_leaves_no_trace") {
        return;
    }
    let m = Mounted::new();
    write(&m.merged.join("scratch"), "temporary\n");
    fs::remove_file(m.merged.join("scratch")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !m.upper().join("scratch").exists(),
        "no whiteout needed: no lower file to hide"
    );
    assert!(m.diff().is_empty(), "{:?}", m.diff());
}

#[test]
fn the_diff_respects_whiteouts_inside_the_lower_layers() {
    if !minibox_testkit::require_root("the_diff_respects_whiteouts_inside_the_lower_layers") {
        return;
    }
    // A layer can itself delete a file of the layer below (as image layers do).
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (bottom, top) = (tmp.path().join("bottom"), tmp.path().join("top"));
    write(&bottom.join("gone"), "deleted by the top layer\n");
    fs::create_dir_all(&top).unwrap_or_else(|e| panic!("{e}"));
    nix::sys::stat::mknod(
        &top.join("gone"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let lowers = vec![top, bottom];
    let state = StateDir::create(tmp.path(), "state-").unwrap_or_else(|e| panic!("{e}"));
    let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::Trusted)
        .unwrap_or_else(|e| panic!("{e}"));
    mount_overlay(&plan, &state.merged()).unwrap_or_else(|e| panic!("{e}"));
    let seen = state.merged().join("gone").exists();
    write(&state.merged().join("gone"), "created again\n");
    let changes = diff(&state.upper(), &lowers, XattrNamespace::Trusted);
    let _ = unmount_overlay(&state.merged());
    let _ = state.remove();
    assert!(!seen, "the whiteout in the top layer hides the bottom file");
    let changes: Vec<String> = changes
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(changes, ["A /gone"], "it did not exist in the image");
}

#[test]
fn the_state_dir_refuses_removal_while_mounted() {
    if !minibox_testkit::require_root("the_state_dir_refuses_removal_while_mounted") {
        return;
    }
    let mut m = Mounted::new();
    let state = m.state.take().unwrap_or_else(|| panic!("no state"));
    let path = state.path().to_path_buf();
    let refused = state.remove();
    assert!(
        matches!(refused, Err(ch04_overlay::OverlayError::StillMounted(_))),
        "{refused:?}"
    );
    assert!(path.join("upper").exists(), "nothing was deleted");
    unmount_overlay(&m.merged).unwrap_or_else(|e| panic!("{e}"));
    let _ = fs::remove_dir_all(&path);
}
