//! A container's changes as a layer (`docker commit`): overlayfs's upper
//! directory is everything the container wrote, and deleted, above its
//! image's layers. Written like an imported root filesystem — sorted, mtime
//! 0, numeric owners — with overlayfs's markers turned back into the OCI
//! layer format's: the unpacker's whiteout conversion, run backwards.

use super::rootfs::{append_tree, finish_layer, layer_writer, Markers};
use crate::digest::Digest;
use crate::error::StoreError;
use crate::store::Store;
use ch04_overlay::XattrNamespace;
use std::collections::HashMap;
use std::path::Path;

/// A layer blob just written to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLayer {
    /// The gzip'd blob's digest (what a manifest lists).
    pub digest: Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// The uncompressed tar's digest (what the config's `rootfs.diff_ids` lists).
    pub diff_id: Digest,
}

// ANCHOR: layer_from_upper
/// Tars `upper` (an overlay's upper directory, whose trusted or user xattrs
/// are in `xattrs`) into a new gzip'd layer blob in `store`: a 0/0
/// character device becomes `.wh.NAME`, an opaque directory gets a
/// `.wh..wh..opq` entry. The blob is in the store; no image names it yet.
pub fn layer_from_upper(
    store: &Store,
    upper: &Path,
    xattrs: XattrNamespace,
) -> Result<NewLayer, StoreError> {
    let mut builder = tar::Builder::new(layer_writer(store)?);
    let mut entries = 0u64;
    let markers = Markers::Overlay(xattrs);
    append_tree(
        &mut builder,
        upper,
        upper,
        markers,
        &mut HashMap::new(),
        &mut entries,
    )?;
    let writer = builder
        .into_inner()
        .map_err(|e| StoreError::Import(format!("finishing the layer tar: {e}")))?;
    store.narrator().step(&format!(
        "tarred the changes in {} ({entries} entries, whiteouts as .wh. files)",
        upper.display()
    ));
    let (digest, size, diff_id) = finish_layer(writer)?;
    Ok(NewLayer {
        digest,
        size,
        diff_id,
    })
}
// ANCHOR_END: layer_from_upper
