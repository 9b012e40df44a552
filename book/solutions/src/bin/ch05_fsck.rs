//! Chapter 05, exercise 3: check a store.
//!
//! `sol-ch05-fsck ROOT` re-hashes every blob under `ROOT/blobs/sha256` and
//! checks that every name in `refs.json` leads to a manifest, a config, its
//! layer blobs and its unpacked layers. It exits 1 when anything is wrong.

use anyhow::{bail, Context};
use ch05_images::{Digest, Sha256Reader, Store};
use std::fs::File;
use std::path::{Path, PathBuf};

// ANCHOR: blobs
/// Every blob whose bytes do not hash to its file name (or whose name is
/// not a digest), streamed through sha256: a layer may be gigabytes.
fn bad_blobs(root: &Path) -> anyhow::Result<(usize, Vec<String>)> {
    let dir = root.join("blobs/sha256");
    let (mut count, mut bad) = (0, Vec::new());
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        count += 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Ok(expected) = Digest::parse(&format!("sha256:{name}")) else {
            bad.push(format!("{}: not a digest", path.display()));
            continue;
        };
        let mut reader = Sha256Reader::new(File::open(&path)?);
        std::io::copy(&mut reader, &mut std::io::sink())?;
        let (actual, _) = reader.finish();
        if actual != expected {
            bad.push(format!("{expected}: its bytes hash to {actual}"));
        }
    }
    Ok((count, bad))
}
// ANCHOR_END: blobs

// ANCHOR: images
/// Every name whose image cannot be loaded whole. `resolve` re-hashes the
/// manifest and config and checks the layer directories; the layer blobs
/// (which `run` does not need, but `export` and `push` do) are checked here.
fn broken_images(store: &Store) -> anyhow::Result<(usize, Vec<String>)> {
    let images = store.images()?;
    let mut broken = Vec::new();
    for summary in &images {
        match store.resolve(&summary.reference) {
            Err(e) => broken.push(format!("{}: {e}", summary.reference)),
            Ok(image) => {
                for digest in image.layer_digests.iter().filter(|d| !store.has_blob(d)) {
                    broken.push(format!(
                        "{}: layer blob {digest} is missing",
                        summary.reference
                    ));
                }
            }
        }
    }
    Ok((images.len(), broken))
}
// ANCHOR_END: images

fn main() -> anyhow::Result<()> {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        bail!("usage: sol-ch05-fsck ROOT (an image store, e.g. /var/lib/minibox)");
    };
    if !root.join("blobs/sha256").is_dir() {
        bail!(
            "{} is not an image store (no blobs/sha256 in it)",
            root.display()
        );
    }
    let store =
        Store::open(&root).with_context(|| format!("opening the store {}", root.display()))?;
    let (blobs, bad) = bad_blobs(&root)?;
    let (images, broken) = broken_images(&store)?;
    for line in bad.iter().chain(&broken) {
        println!("BAD {line}");
    }
    println!(
        "{blobs} blob(s), {} bad; {images} image(s), {} broken",
        bad.len(),
        broken.len()
    );
    if !bad.is_empty() || !broken.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
