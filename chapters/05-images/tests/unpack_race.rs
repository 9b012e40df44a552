//! A race against the unpacker: while layers unpack, a thread swaps a
//! directory inside the layer with a symlink to the outside (renameat2
//! RENAME_EXCHANGE in a loop) — the check-then-use window of any path-based
//! unpacker. First a path-based writer is shown to escape (so the race is
//! real here), then ours, with each resolver: nothing appears outside.

// Test code: an unwrap that fails is a failing test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch05_images::Compression;
use common::*;
use minibox_testkit::require_root;
use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each contender runs.
const RACE: Duration = Duration::from_millis(1500);

/// Swaps `dest/d` (a directory) and `dest/evil` (a symlink to outside)
/// until told to stop.
fn swapper(dest: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let (d, evil) = (dest.join("d"), dest.join("evil"));
    std::thread::spawn(move || {
        let mut swaps = 0;
        while !stop.load(Ordering::Relaxed) {
            if renameat2(AT_FDCWD, &d, AT_FDCWD, &evil, RenameFlags::RENAME_EXCHANGE).is_ok() {
                swaps += 1;
            }
        }
        swaps
    })
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn swapping_a_directory_for_a_symlink_never_escapes() {
    if !require_root("swapping_a_directory_for_a_symlink_never_escapes") {
        return;
    }
    // The control: write `dest/d/fN` by path, as a naive unpacker would.
    let scratch = Scratch::new();
    let dest = scratch.dest();
    std::fs::create_dir(dest.join("d")).unwrap();
    std::os::unix::fs::symlink(scratch.outside(), dest.join("evil")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = swapper(&dest, stop.clone());
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < RACE && files_in(&scratch.outside()) == 1 {
        let _ = std::fs::write(dest.join(format!("d/f{n}")), b"x");
        n += 1;
    }
    stop.store(true, Ordering::Relaxed);
    swaps.join().unwrap();
    assert!(
        files_in(&scratch.outside()) > 1,
        "the path-based writer never escaped in {n} tries: this race test would prove nothing here"
    );

    // Ours.
    let mut layer = Layer::new();
    for i in 0..100 {
        layer.file(&format!("d/f{i}"), b"inside\n");
        layer.file(&format!("d/sub/g{i}"), b"inside\n");
    }
    let blob = compress(&layer.tar(), Compression::None);
    for resolver in RESOLVERS {
        let scratch = Scratch::new();
        let dest = scratch.dest();
        std::fs::create_dir(dest.join("d")).unwrap();
        std::os::unix::fs::symlink(scratch.outside(), dest.join("evil")).unwrap();
        let before = scratch.snapshot();
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = swapper(&dest, stop.clone());
        let started = Instant::now();
        let (mut runs, mut failed) = (0, 0);
        // At least a few whole unpacks, however slow a loaded machine is.
        while started.elapsed() < RACE || runs < 3 {
            // Errors are allowed (the tree changes under us); escapes are not.
            if scratch.unpack(&blob, Compression::None, resolver).is_err() {
                failed += 1;
            }
            runs += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let swaps = swaps.join().unwrap();
        eprintln!("{resolver:?}: {runs} unpacks ({failed} failed) against {swaps} swaps");
        assert!(
            swaps > 100,
            "{resolver:?}: the race did not run ({runs} unpacks, {swaps} swaps)"
        );
        assert_eq!(
            scratch.snapshot(),
            before,
            "{resolver:?}: a file escaped the layer"
        );
    }
}
