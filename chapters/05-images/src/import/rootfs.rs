//! A root filesystem as a one-layer image (`docker import`): the layer is a
//! tar of the tree, the config says only which platform and what to run.
//!
//! Built so that the same tree gives the same digests every time: entries
//! sorted by name, every mtime 0, owners as numbers only (no user names to
//! look up), gzip without a timestamp — the ideas of reproducible builds.

use super::{name_from_path, Added, ImportOptions};
use crate::digest::{Digest, Sha256Writer};
use crate::error::StoreError;
use crate::media;
use crate::platform::Platform;
use crate::store::{Image, Store};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Every entry's mtime: fixed, so the digest depends only on the tree.
pub const ROOTFS_MTIME: u64 = 0;

/// A reader that undoes gzip or zstd if the bytes start with their magic.
pub(crate) fn decompressed(file: File) -> std::io::Result<(Box<dyn Read>, bool)> {
    let mut reader = BufReader::new(file);
    let magic = reader.fill_buf()?.to_vec();
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        (Box::new(flate2::read::MultiGzDecoder::new(reader)), true)
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        (
            Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
            true,
        )
    } else {
        (Box::new(reader), false)
    })
}

/// The layer being written: tar → sha256 (the DiffID) → gzip → a new blob.
pub(crate) type LayerWriter = Sha256Writer<flate2::write::GzEncoder<crate::store::BlobWriter>>;

pub(crate) fn layer_writer(store: &Store) -> Result<LayerWriter, StoreError> {
    // GzBuilder: mtime 0 and no file name in the gzip header.
    let gzip =
        flate2::GzBuilder::new().write(store.new_blob_writer()?, flate2::Compression::new(6));
    Ok(Sha256Writer::new(gzip))
}

/// Finishes the layer: (blob digest, blob size, DiffID).
pub(crate) fn finish_layer(writer: LayerWriter) -> Result<(Digest, u64, Digest), StoreError> {
    let (gzip, diff_id, _) = writer.finish();
    let blob = gzip
        .finish()
        .map_err(|e| StoreError::Import(format!("compressing the layer: {e}")))?;
    let size = blob.written();
    Ok((blob.commit_new()?, size, diff_id))
}

pub(crate) fn import_dir(
    store: &Store,
    dir: &Path,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    let mut builder = tar::Builder::new(layer_writer(store)?);
    let mut entries = 0u64;
    append_tree(
        &mut builder,
        dir,
        dir,
        Markers::None,
        &mut HashMap::new(),
        &mut entries,
    )?;
    let writer = builder
        .into_inner()
        .map_err(|e| StoreError::Import(format!("finishing the layer tar: {e}")))?;
    store.narrator().step(&format!(
        "tarred {} ({entries} entries; sorted, mtime 0, numeric owners)",
        dir.display()
    ));
    let layer = finish_layer(writer)?;
    finish(store, dir, options, added, layer)
}

pub(crate) fn import_tar(
    store: &Store,
    file: &Path,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    let (mut reader, _) = decompressed(File::open(file).map_err(StoreError::io("opening", file))?)
        .map_err(StoreError::io("reading", file))?;
    // The tarball's bytes are the layer (recompressed our way); the unpacker judges its entries.
    let mut writer = layer_writer(store)?;
    std::io::copy(&mut reader, &mut writer).map_err(StoreError::io("reading", file))?;
    let layer = finish_layer(writer)?;
    finish(store, file, options, added, layer)
}

/// Writes the config and the manifest for the one layer, and commits the image.
fn finish(
    store: &Store,
    source: &Path,
    options: &ImportOptions,
    added: &mut Added,
    layer: (Digest, u64, Digest),
) -> Result<Image, StoreError> {
    let (digest, size, diff_id) = layer;
    added.note(digest.clone());
    let platform = Platform::host();
    let mut config = serde_json::json!({
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    });
    if let Some(cmd) = &options.cmd {
        config["Cmd"] = serde_json::json!(cmd);
    }
    let mut image_config = serde_json::json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "config": config,
        "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
        "history": [{ "created_by": "ch05-images import (a root filesystem as one layer)" }],
    });
    if let Some(variant) = &platform.variant {
        image_config["variant"] = serde_json::json!(variant);
    }
    let config_bytes = serde_json::to_vec(&image_config)
        .map_err(|e| StoreError::Import(format!("writing a config: {e}")))?;
    let config_digest = added.put(store, &config_bytes)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": { "mediaType": media::OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len() },
        "layers": [{ "mediaType": media::OCI_LAYER_GZIP, "digest": digest.to_string(), "size": size }],
    });
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| StoreError::Import(format!("writing a manifest: {e}")))?;
    let manifest_digest = added.put(store, &manifest_bytes)?;
    let reference = match &options.name {
        Some(name) => name.clone(),
        None => name_from_path(source, None)?,
    };
    store.commit_image(&reference, &manifest_digest, &platform)
}

/// How a tree's overlayfs markers are written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Markers {
    /// A plain root filesystem: a device node is a device node.
    None,
    /// An overlayfs upper directory: a 0/0 character device is a deleted
    /// file, the `opaque` xattr (in this namespace) an opaque directory.
    Overlay(ch04_overlay::XattrNamespace),
}

/// Appends everything under `dir` in sorted order, the same way every time.
pub(crate) fn append_tree(
    builder: &mut tar::Builder<LayerWriter>,
    root: &Path,
    dir: &Path,
    markers: Markers,
    seen: &mut HashMap<(u64, u64), PathBuf>,
    entries: &mut u64,
) -> Result<(), StoreError> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(StoreError::io("reading", dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(StoreError::io("reading", dir))?;
    names.sort();
    for path in names {
        let meta = fs::symlink_metadata(&path).map_err(StoreError::io("reading", &path))?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        // ANCHOR: tar_header
        let mut header = tar::Header::new_gnu();
        header.set_mtime(ROOTFS_MTIME);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mode(meta.mode() & 0o7777);
        header.set_size(0);
        // ANCHOR_END: tar_header
        let kind = meta.file_type();
        let io = |e| StoreError::Import(format!("adding {} to the layer: {e}", path.display()));
        *entries += 1;
        if let Markers::Overlay(_) = markers {
            if ch04_overlay::whiteout::is_whiteout(&meta) {
                // ANCHOR: whiteout_back
                // overlayfs's deleted file (a 0/0 character device) is the
                // OCI layer's `.wh.NAME`: an empty file next to where it was.
                let name = relative.file_name().unwrap_or_default().to_string_lossy();
                let marker = relative.with_file_name(format!(".wh.{name}"));
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                builder
                    .append_data(&mut header, &marker, std::io::empty())
                    .map_err(io)?;
                // ANCHOR_END: whiteout_back
                continue;
            }
        }
        if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            builder
                .append_data(&mut header, &relative, std::io::empty())
                .map_err(io)?;
            if let Markers::Overlay(xattrs) = markers {
                if ch04_overlay::whiteout::is_opaque(&path, xattrs) {
                    // An opaque directory hides every lower entry: `.wh..wh..opq` inside it.
                    // Every number field set: an unset one is NUL bytes, which readers refuse.
                    let mut opaque = tar::Header::new_gnu();
                    opaque.set_mtime(ROOTFS_MTIME);
                    opaque.set_uid(0);
                    opaque.set_gid(0);
                    opaque.set_mode(0o644);
                    opaque.set_size(0);
                    opaque.set_entry_type(tar::EntryType::Regular);
                    builder
                        .append_data(&mut opaque, relative.join(".wh..wh..opq"), std::io::empty())
                        .map_err(io)?;
                }
            }
            append_tree(builder, root, &path, markers, seen, entries)?;
        } else if kind.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            let target = fs::read_link(&path).map_err(StoreError::io("reading the link", &path))?;
            builder
                .append_link(&mut header, &relative, &target)
                .map_err(io)?;
        } else if kind.is_file() && meta.nlink() > 1 && seen.contains_key(&(meta.dev(), meta.ino()))
        {
            // A second name of a file already in the tar: a hard link to the first.
            header.set_entry_type(tar::EntryType::Link);
            builder
                .append_link(&mut header, &relative, &seen[&(meta.dev(), meta.ino())])
                .map_err(io)?;
        } else if kind.is_file() {
            seen.insert((meta.dev(), meta.ino()), relative.clone());
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            let file = File::open(&path).map_err(StoreError::io("opening", &path))?;
            builder
                .append_data(&mut header, &relative, file)
                .map_err(io)?;
        } else if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
            header.set_entry_type(if kind.is_char_device() {
                tar::EntryType::Char
            } else if kind.is_block_device() {
                tar::EntryType::Block
            } else {
                tar::EntryType::Fifo
            });
            let rdev = meta.rdev();
            header
                .set_device_major(nix::sys::stat::major(rdev) as u32)
                .map_err(io)?;
            header
                .set_device_minor(nix::sys::stat::minor(rdev) as u32)
                .map_err(io)?;
            builder
                .append_data(&mut header, &relative, std::io::empty())
                .map_err(io)?;
        } else {
            // Sockets belong to a running program, not to an image.
            *entries -= 1;
        }
    }
    Ok(())
}
