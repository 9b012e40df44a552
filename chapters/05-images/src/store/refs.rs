//! Refs: the store's one mutable file, `refs.json`, mapping image names to
//! manifests. Rewritten whole, atomically, under an exclusive flock(2) of
//! `refs.lock`, so two processes tagging at once never lose each other's ref.

use super::lock::{lock_waiting, open_lock_file};
use super::{sync_dir, Store};
use crate::digest::Digest;
use crate::error::StoreError;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;

/// What a name points at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefEntry {
    /// What was committed: an index (multi-platform) or a manifest.
    pub target: Digest,
    /// The manifest chosen for `platform` (equal to `target` without an index).
    pub manifest: Digest,
    /// The platform the manifest was chosen for, e.g. `linux/amd64`.
    pub platform: String,
}

/// The contents of `refs.json`: full reference → entry, sorted by name.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Refs {
    pub refs: BTreeMap<String, RefEntry>,
}

impl Store {
    /// Reads `refs.json` (no lock needed: it is only ever replaced by rename).
    pub(crate) fn read_refs(&self) -> Result<Refs, StoreError> {
        let path = self.refs_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::Import(format!(
                    "{} is not a valid refs file ({e}): restore it from a backup, or move it aside to start with no names",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Refs::default()),
            Err(e) => Err(StoreError::io("reading", &path)(e)),
        }
    }

    // ANCHOR: update_refs
    /// Read-modify-write of `refs.json` under an exclusive lock.
    pub(crate) fn update_refs<T>(
        &self,
        change: impl FnOnce(&mut Refs) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let lock_path = self.root.join("refs.lock");
        let file = open_lock_file(&lock_path)?;
        // Held until `_locked` is dropped at the end of this function.
        let _locked = lock_waiting(
            file,
            &lock_path,
            true,
            "another process updating refs.json",
            &self.narrator,
        )?;
        let mut refs = self.read_refs()?;
        let result = change(&mut refs)?;
        let path = self.refs_path();
        let mut json = serde_json::to_vec_pretty(&refs)
            .map_err(|e| StoreError::Import(format!("serialising refs: {e}")))?;
        json.push(b'\n');
        // Write a new file and rename it over the old one: a reader (or a
        // crash) sees the old refs or the new, never half of either.
        let mut tmp = tempfile::Builder::new()
            .prefix("refs-")
            .tempfile_in(self.tmp_dir())
            .map_err(StoreError::io(
                "creating a temporary file in",
                self.tmp_dir(),
            ))?;
        tmp.write_all(&json)
            .map_err(StoreError::io("writing", tmp.path().to_path_buf()))?;
        tmp.as_file()
            .sync_all()
            .map_err(StoreError::io("fsync of", tmp.path().to_path_buf()))?;
        tmp.persist(&path)
            .map_err(|e| StoreError::io("renaming over", &path)(e.error))?;
        sync_dir(&self.root)?;
        Ok(result)
    }
    // ANCHOR_END: update_refs
}
