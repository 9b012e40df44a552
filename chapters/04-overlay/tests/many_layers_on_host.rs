//! 64 layers whose absolute paths overflow mount(2)'s one-page option limit.
//!
//! Alone in its own test binary: the short-link mount changes the working
//! directory for a moment, and no other test thread should be resolving
//! relative paths then.

use ch04_overlay::{mount_overlay, unmount_overlay, MountPlan, PathForm, StateDir, XattrNamespace};
use std::fs;

#[test]
fn sixty_four_layers_with_long_paths_mount_through_short_links() {
    if !minibox_testkit::require_root("sixty_four_layers_with_long_paths_mount_through_short_links")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let long = "a-deliberately-long-directory-name-for-an-image-layer-".repeat(2);
    let layers: Vec<_> = (0..64)
        .map(|i| {
            let layer = tmp.path().join(format!("{long}{i:03}"));
            fs::create_dir_all(&layer).unwrap_or_else(|e| panic!("{e}"));
            // Each layer adds one file, and overrides the shared one.
            fs::write(layer.join(format!("file-{i:03}")), "x").unwrap_or_else(|e| panic!("{e}"));
            fs::write(layer.join("who-is-on-top"), format!("{i}"))
                .unwrap_or_else(|e| panic!("{e}"));
            layer
        })
        .rev() // top first: layer 63 is the top
        .collect();
    let absolute_len: usize = layers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(
        absolute_len > 4096,
        "the test needs paths over a page: {absolute_len}"
    );

    let state = StateDir::create(tmp.path(), "state-").unwrap_or_else(|e| panic!("{e}"));
    let plan = MountPlan::prepare(&layers, &state, XattrNamespace::Trusted)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(plan.form, PathForm::ShortLinks { .. }),
        "{:?}",
        plan.form
    );
    let cwd_before = std::env::current_dir().unwrap_or_default();
    mount_overlay(&plan, &state.merged()).unwrap_or_else(|e| panic!("{e}"));
    let merged = state.merged();
    let files = fs::read_dir(&merged).map(|d| d.count()).unwrap_or(0);
    let top = fs::read_to_string(merged.join("who-is-on-top")).unwrap_or_default();
    let cwd_after = std::env::current_dir().unwrap_or_default();
    unmount_overlay(&merged).unwrap_or_else(|e| panic!("{e}"));
    state.remove().unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(files, 65, "64 files plus who-is-on-top");
    assert_eq!(top, "63", "the first lowerdir is the top layer");
    assert_eq!(cwd_before, cwd_after, "the working directory is restored");
}
