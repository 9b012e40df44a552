//! 64 extra layers whose absolute paths overflow mount(2)'s one-page limit.

mod common;

use common::*;
use std::fs;

#[test]
fn sixty_four_layers_with_long_paths_mount() {
    if !require_root("sixty_four_layers_with_long_paths_mount") {
        return;
    }
    let layers = Layers::new();
    let long = "a-long-directory-name-as-image-stores-make-them-".repeat(2);
    // Not inside the extra layer: overlayfs refuses layers nested in each other (ELOOP).
    let store = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ch04();
    cmd.arg("--state-dir").arg(layers.state.path());
    cmd.arg("--layer").arg(layers.rootfs.path());
    let mut total = layers.rootfs.path().as_os_str().len();
    for i in 0..64 {
        let layer = store.path().join(format!("{long}{i:02}"));
        fs::create_dir_all(&layer).unwrap_or_else(|e| panic!("{e}"));
        fs::write(layer.join("top"), format!("{i}\n")).unwrap_or_else(|e| panic!("{e}"));
        fs::write(layer.join(format!("file-{i:02}")), "").unwrap_or_else(|e| panic!("{e}"));
        total += layer.as_os_str().len() + 1;
        cmd.arg("--layer").arg(&layer);
    }
    assert!(
        total > 4096,
        "the layer paths must overflow a page: {total}"
    );
    cmd.args(["--", "sh", "-c", "cat /top; ls / | grep -c file-"]);
    let output = output_within(&mut cmd, DEADLINE);
    assert_exit(&output, 0);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        stdout, "63\n64\n",
        "the last --layer is on top, and all 64 are there"
    );
    assert!(stderr.contains("short links"), "{stderr}");
    assert!(layers.kept().is_empty());
}
