//! Garbage collection: whatever no name reaches is deleted.
//!
//! Mark: from every ref, its target (index or manifest), the manifest, the
//! config, the layer blobs and the layer directories. Sweep: everything
//! else under `blobs/`, `layers/` and `tmp/`. It runs with the store's lock
//! held exclusively, so no import is half-way through writing blobs that no
//! name reaches *yet*, and no container runs on a layer about to go.

use super::layers::remove_tree;
use super::Store;
use crate::digest::Digest;
use crate::error::StoreError;
use crate::reference::Reference;
use std::collections::HashSet;
use std::fs;
use std::path::Path;

/// What a gc removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub blobs: usize,
    pub layers: usize,
    /// Leftovers of interrupted imports.
    pub temporaries: usize,
    /// Bytes of blobs removed (layer directories not counted).
    pub blob_bytes: u64,
}

impl Store {
    // ANCHOR: gc
    /// Deletes every blob and layer directory that no ref reaches.
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        self.lock.exclusive(&self.narrator)?;
        let result = self.gc_locked();
        // Back to shared even if the sweep failed half-way.
        self.lock.back_to_shared()?;
        result
    }

    /// Mark: the blobs and layers some ref reaches.
    fn live_set(&self) -> Result<(HashSet<Digest>, HashSet<Digest>), StoreError> {
        let mut live_blobs: HashSet<Digest> = HashSet::new();
        let mut live_layers: HashSet<Digest> = HashSet::new();
        for (name, entry) in self.read_refs()?.refs {
            // A ref whose image cannot be read stops the gc: deleting
            // "unreachable" blobs on a misread would delete live ones.
            let image = self.load(&Reference::parse(&name)?, &entry)?;
            live_blobs.extend([entry.target, image.manifest_digest, image.config_digest]);
            live_blobs.extend(image.layer_digests);
            live_layers.extend(image.diff_ids);
        }
        Ok((live_blobs, live_layers))
    }

    // ANCHOR_END: gc

    fn gc_locked(&self) -> Result<GcReport, StoreError> {
        let (live_blobs, live_layers) = self.live_set()?;
        let mut report = GcReport {
            temporaries: self.clear_tmp()?,
            ..GcReport::default()
        };
        for (name, path) in list(&self.blobs_dir())? {
            if !is_live(&name, &live_blobs) {
                report.blob_bytes += fs::symlink_metadata(&path).map_or(0, |m| m.len());
                fs::remove_file(&path).map_err(StoreError::io("removing", &path))?;
                report.blobs += 1;
                self.narrator.detail(&format!("gc: removed blob {name}"));
            }
        }
        for (name, path) in list(&self.layers_dir())? {
            if !is_live(&name, &live_layers) {
                remove_tree(&path)?;
                report.layers += 1;
                self.narrator.detail(&format!("gc: removed layer {name}"));
            }
        }
        Ok(report)
    }
}

fn is_live(name: &str, live: &HashSet<Digest>) -> bool {
    Digest::parse(&format!("sha256:{name}")).is_ok_and(|d| live.contains(&d))
}

fn list(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io("reading", dir))? {
        let entry = entry.map_err(StoreError::io("reading", dir))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    Ok(out)
}

impl Store {
    /// Removes blobs a failed import added, if no ref reaches them — but
    /// only if the store is ours alone right now: a concurrent import may be
    /// about to use the same blob. Otherwise they wait for the next gc.
    pub(crate) fn discard_blobs(&self, added: &[Digest]) -> Result<bool, StoreError> {
        if added.is_empty() || !self.lock.try_exclusive()? {
            return Ok(false);
        }
        let result = self.live_set().and_then(|(live, _)| {
            for digest in added.iter().filter(|d| !live.contains(d)) {
                let path = self.blob_path(digest);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io("removing", &path)(e)),
                }
            }
            Ok(true)
        });
        self.lock.back_to_shared()?;
        result
    }
}
