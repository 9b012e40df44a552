//! Chapter 04, exercise 7: `docker diff` for a kept writable layer.
//!
//! `sol-ch04-diff UPPER LOWER…` prints what a container changed, from its
//! upper directory and the read-only layers under it (top first).

use anyhow::{bail, Context};
use ch04_overlay::{diff, XattrNamespace};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(upper) = args.next() else {
        bail!("usage: sol-ch04-diff UPPER LOWER… (lower layers top first)");
    };
    // ANCHOR: diff_upper
    let lowers: Vec<PathBuf> = args.collect();
    let changes = diff(&upper, &lowers, XattrNamespace::Trusted)
        .with_context(|| format!("reading the changes in {}", upper.display()))?;
    for change in &changes {
        println!("{change}"); // "A /root/notes", "D /etc/motd", …
    }
    // ANCHOR_END: diff_upper
    Ok(())
}
