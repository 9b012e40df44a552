//! `docker diff` for overlayfs: what did the container change?
//!
//! Everything the container changed is in its upper directory, so the diff is
//! a walk over upper/, comparing each entry with the lower layers:
//!
//! - an entry the lower layers do not have: **A**dded;
//! - an entry they have (a copied-up file, or a directory that holds changes): **C**hanged;
//! - a whiteout (char device 0/0): **D**eleted;
//! - an opaque directory: **C**hanged, and every lower entry it hides **D**eleted.

use crate::error::OverlayError;
use crate::lower::LowerView;
use crate::whiteout::{is_opaque, is_whiteout, XattrNamespace};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path, as the container sees it (`/etc/hostname`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.letter(), self.path.display())
    }
}

// ANCHOR: diff
/// The changes recorded in `upper` on top of `lowers` (top layer first),
/// sorted by path.
pub fn diff(
    upper: &Path,
    lowers: &[PathBuf],
    xattrs: XattrNamespace,
) -> Result<Vec<Change>, OverlayError> {
    let lower = LowerView::new(lowers.to_vec(), xattrs);
    let mut changes = Vec::new();
    walk(upper, Path::new(""), &lower, xattrs, &mut changes)?;
    changes.sort();
    Ok(changes)
}

fn walk(
    upper: &Path,
    rel_dir: &Path,
    lower: &LowerView,
    xattrs: XattrNamespace,
    changes: &mut Vec<Change>,
) -> Result<(), OverlayError> {
    let dir = upper.join(rel_dir);
    let entries = std::fs::read_dir(&dir).map_err(OverlayError::io("reading", &dir))?;
    // ANCHOR: diff_walk_entries
    for entry in entries {
        let entry = entry.map_err(OverlayError::io("reading", &dir))?;
        let rel = rel_dir.join(entry.file_name());
        let path = entry.path();
        let metadata =
            std::fs::symlink_metadata(&path).map_err(OverlayError::io("inspecting", &path))?;
        let before = lower.lookup(&rel);
        if is_whiteout(&metadata) {
            changes.push(change(&rel, ChangeKind::Deleted));
            continue;
        }
        let kind = if before.is_some() {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        changes.push(change(&rel, kind));
        if !metadata.is_dir() {
            continue;
        }
        let lower_was_dir = before.is_some_and(|m| m.is_dir());
        if lower_was_dir && is_opaque(&path, xattrs) {
            // The container deleted this directory and made a new one: every
            // lower entry that did not come back is gone.
            let now = upper_names(&path)?;
            for name in lower.list(&rel).difference(&now) {
                changes.push(change(&rel.join(name), ChangeKind::Deleted));
            }
        }
        walk(upper, &rel, lower, xattrs, changes)?;
    }
    // ANCHOR_END: diff_walk_entries
    Ok(())
}
// ANCHOR_END: diff

/// Names in an upper directory that are real entries (not whiteouts).
fn upper_names(dir: &Path) -> Result<BTreeSet<OsString>, OverlayError> {
    let entries = std::fs::read_dir(dir).map_err(OverlayError::io("reading", dir))?;
    Ok(entries
        .flatten()
        .filter(|e| !std::fs::symlink_metadata(e.path()).is_ok_and(|m| is_whiteout(&m)))
        .map(|e| e.file_name())
        .collect())
}

fn change(rel: &Path, kind: ChangeKind) -> Change {
    Change {
        path: Path::new("/").join(rel),
        kind,
    }
}
