//! Chapter 05, exercise 1: `tag` — a second name for an image.
//!
//! `sol-ch05-tag ROOT SOURCE TARGET` makes TARGET name the image SOURCE
//! names in the store at ROOT, like `docker tag`.

use anyhow::{bail, Context};
use ch05_images::{Reference, Store};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, source, target] = args.as_slice() else {
        bail!("usage: sol-ch05-tag ROOT SOURCE TARGET (e.g. /var/lib/minibox busybox:book busybox:mine)");
    };
    let source = Reference::parse(source)?;
    let target = Reference::parse(target)?;
    let store =
        Store::open(&PathBuf::from(root)).with_context(|| format!("opening the store {root}"))?;
    // ANCHOR: tag
    // Everything the name needs is in the store already: committing the same
    // top-level digest under another name only writes refs.json — under its
    // lock, as the last step, like every other name.
    let image = store
        .resolve(&source)
        .with_context(|| format!("finding {source}"))?;
    store
        .commit_image(&target, &image.target, &image.platform)
        .with_context(|| format!("naming {target}"))?;
    println!(
        "{target} → {} (image ID {})",
        image.target,
        image.config_digest.short()
    );
    // ANCHOR_END: tag
    Ok(())
}
