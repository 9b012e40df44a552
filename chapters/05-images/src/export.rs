//! Export: an image out of the store as an OCI image layout — a directory,
//! or its tar — that skopeo, umoci, podman and containerd can read.
//!
//! The blobs are copied byte for byte, so importing the export gives the
//! same digests: a manifest digest names the same image everywhere.

use crate::digest::Digest;
use crate::error::StoreError;
use crate::media;
use crate::store::{Image, Store};
use std::fs;
use std::io::Write;
use std::path::Path;

/// Every entry's mtime in an exported tar: the tar's bytes depend only on the image.
const EXPORT_MTIME: u64 = 0;

/// The `index.json` of a layout holding `image` alone, named as it is in the store.
fn layout_index(image: &Image, manifest_size: usize) -> serde_json::Value {
    let platform = &image.platform;
    let mut descriptor_platform =
        serde_json::json!({ "os": platform.os, "architecture": platform.architecture });
    if let Some(variant) = &platform.variant {
        descriptor_platform["variant"] = serde_json::json!(variant);
    }
    let mut annotations =
        serde_json::json!({ "io.containerd.image.name": image.reference.to_string() });
    if let Some(tag) = image.reference.tag() {
        annotations["org.opencontainers.image.ref.name"] = serde_json::json!(tag);
    }
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [{
            "mediaType": image.manifest.media_type().as_ref().map_or(media::OCI_MANIFEST.to_string(), |t| t.to_string()),
            "digest": image.manifest_digest.to_string(),
            "size": manifest_size,
            "platform": descriptor_platform,
            "annotations": annotations,
        }],
    })
}

/// The files of the layout, in the order a tar of it lists them.
fn layout_files(store: &Store, image: &Image) -> Result<Vec<(String, LayoutFile)>, StoreError> {
    let manifest = store.read_blob(&image.manifest_digest, crate::store::DOCUMENT_CAP)?;
    let index = serde_json::to_vec(&layout_index(image, manifest.len()))
        .map_err(|e| StoreError::Import(format!("writing index.json: {e}")))?;
    let mut blobs: Vec<Digest> = vec![image.manifest_digest.clone(), image.config_digest.clone()];
    for digest in &image.layer_digests {
        if !blobs.contains(digest) {
            blobs.push(digest.clone());
        }
    }
    blobs.sort();
    let mut files = vec![
        (
            "oci-layout".to_string(),
            LayoutFile::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ),
        ("index.json".to_string(), LayoutFile::Bytes(index)),
    ];
    for digest in blobs {
        files.push((
            format!("blobs/sha256/{}", digest.hex()),
            LayoutFile::Blob(digest),
        ));
    }
    Ok(files)
}

enum LayoutFile {
    Bytes(Vec<u8>),
    Blob(Digest),
}

// ANCHOR: export
/// Writes `image` as an OCI layout: into `target` if it ends in `.tar`
/// (an oci-archive), else into the directory `target` (new or empty).
pub fn export(store: &Store, image: &Image, target: &Path) -> Result<(), StoreError> {
    let files = layout_files(store, image)?;
    if target.extension().is_some_and(|e| e == "tar") {
        export_tar(store, &files, target)
    } else {
        export_dir(store, &files, target)
    }
}
// ANCHOR_END: export

fn export_dir(store: &Store, files: &[(String, LayoutFile)], dir: &Path) -> Result<(), StoreError> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(StoreError::io("reading", dir))?
            .next()
            .is_some()
    {
        return Err(StoreError::Import(format!(
            "{} is not empty: export into a new or empty directory",
            dir.display()
        )));
    }
    fs::create_dir_all(dir.join("blobs/sha256")).map_err(StoreError::io("creating", dir))?;
    for (name, file) in files {
        let path = dir.join(name);
        match file {
            LayoutFile::Bytes(bytes) => {
                fs::write(&path, bytes).map_err(StoreError::io("writing", &path))?
            }
            LayoutFile::Blob(digest) => {
                fs::copy(store.blob_path(digest), &path)
                    .map_err(StoreError::io("copying a blob to", &path))?;
                // The store's blobs are read-only; the copy is the user's.
                fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
                    .map_err(StoreError::io("chmod", &path))?;
            }
        }
    }
    Ok(())
}

fn export_tar(
    store: &Store,
    files: &[(String, LayoutFile)],
    file: &Path,
) -> Result<(), StoreError> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Written beside the target and renamed: no half-written archive under its name.
    let tmp = tempfile::Builder::new()
        .prefix(".export-")
        .tempfile_in(parent)
        .map_err(StoreError::io("creating a temporary file in", parent))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(tmp.as_file()));
    let io = |e: std::io::Error| StoreError::io("writing", file)(e);
    let dir_entry = |builder: &mut tar::Builder<_>, name: &str| {
        let mut header = header(tar::EntryType::Directory, 0o755, 0);
        builder.append_data(&mut header, name, std::io::empty())
    };
    dir_entry(&mut builder, "blobs/").map_err(io)?;
    dir_entry(&mut builder, "blobs/sha256/").map_err(io)?;
    for (name, content) in files {
        match content {
            LayoutFile::Bytes(bytes) => {
                let mut header = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
                builder
                    .append_data(&mut header, name, &bytes[..])
                    .map_err(io)?;
            }
            LayoutFile::Blob(digest) => {
                let path = store.blob_path(digest);
                let blob = fs::File::open(&path).map_err(StoreError::io("opening", &path))?;
                let size = blob
                    .metadata()
                    .map_err(StoreError::io("reading", &path))?
                    .len();
                let mut header = header(tar::EntryType::Regular, 0o644, size);
                builder.append_data(&mut header, name, blob).map_err(io)?;
            }
        }
    }
    let mut writer = builder.into_inner().map_err(io)?;
    writer.flush().map_err(io)?;
    drop(writer);
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(file).map_err(|e| io(e.error))?;
    Ok(())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(EXPORT_MTIME);
    header
}
