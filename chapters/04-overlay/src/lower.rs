//! What the container started from: the merged view of the read-only layers,
//! computed the way overlayfs computes it, without mounting anything.
//!
//! Layers can contain whiteouts and opaque directories of their own (an image
//! layer that deleted a file of the layer below), so "does /etc/x exist in the
//! image?" means: look in each layer from the top, stop at a whiteout, at a
//! non-directory on the way, or below an opaque directory.

use crate::whiteout::{is_opaque, is_whiteout, XattrNamespace};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};

/// The read-only layers, top first.
#[derive(Debug, Clone)]
pub struct LowerView {
    layers: Vec<PathBuf>,
    xattrs: XattrNamespace,
}

impl LowerView {
    pub fn new(layers: Vec<PathBuf>, xattrs: XattrNamespace) -> Self {
        LowerView { layers, xattrs }
    }

    // ANCHOR: lookup
    /// The entry at `rel` (a path relative to the root) as the container saw
    /// it at start, or `None` if no layer provides it.
    pub fn lookup(&self, rel: &Path) -> Option<Metadata> {
        let components: Vec<Component> = rel.components().collect();
        if components.is_empty() {
            return std::fs::symlink_metadata(self.layers.first()?).ok();
        }
        'layers: for layer in &self.layers {
            let mut path = layer.clone();
            let mut below_opaque = false;
            for (index, component) in components.iter().enumerate() {
                path.push(component);
                let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                    if below_opaque {
                        return None; // an opaque directory hides the layers below
                    }
                    continue 'layers; // not in this layer: look further down
                };
                if is_whiteout(&metadata) {
                    return None; // this layer deleted it
                }
                if index + 1 == components.len() {
                    return Some(metadata);
                }
                if !metadata.is_dir() {
                    return None; // a file here replaces a whole directory below
                }
                below_opaque |= is_opaque(&path, self.xattrs);
            }
        }
        None
    }
    // ANCHOR_END: lookup

    /// The names in directory `rel` as the container saw them at start.
    pub fn list(&self, rel: &Path) -> BTreeSet<OsString> {
        let mut candidates = BTreeSet::new();
        for layer in &self.layers {
            if let Ok(entries) = std::fs::read_dir(layer.join(rel)) {
                candidates.extend(entries.flatten().map(|entry| entry.file_name()));
            }
        }
        // Keep only what the layer stack really shows (whiteouts and opaque
        // directories hide some of the candidates).
        candidates
            .into_iter()
            .filter(|name| self.lookup(&rel.join(name)).is_some())
            .collect()
    }
}
