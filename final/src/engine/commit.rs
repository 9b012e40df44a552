//! `commit`: the container's upper directory — everything it changed — as
//! a new layer on top of its image, through chapter 05's store.
//!
//! The layer is a tar in the OCI layer format, so overlayfs's own markers
//! are translated back: a 0/0 character device (a deleted file) becomes an
//! empty `.wh.NAME`, an opaque directory gets a `.wh..wh..opq` entry.

use super::error::{EngineError, Result};
use super::Engine;
use ch04_overlay::whiteout::{is_opaque, is_whiteout};
use ch04_overlay::XattrNamespace;
use ch05_images::{media, Digest, Sha256Writer};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn empty_file_header(mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(0);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    header
}

// ANCHOR: append_upper
/// Appends `dir` (relative `rel`) of the upper directory, sorted, with
/// overlayfs's whiteouts turned into OCI ones.
fn append_upper<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    rel: &Path,
    xattrs: XattrNamespace,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = rel.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&path)?;
        if is_whiteout(&meta) {
            let whiteout = rel.join(format!(".wh.{}", entry.file_name().to_string_lossy()));
            builder.append_data(&mut empty_file_header(0o644), whiteout, std::io::empty())?;
            continue;
        }
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        header.set_uid(meta.uid() as u64);
        header.set_gid(meta.gid() as u64);
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)?;
            builder.append_link(&mut header, &name, target)?;
        } else if meta.is_dir() {
            header.set_size(0);
            builder.append_data(&mut header, &name, std::io::empty())?;
            if is_opaque(&path, xattrs) {
                builder.append_data(
                    &mut empty_file_header(0o644),
                    name.join(".wh..wh..opq"),
                    std::io::empty(),
                )?;
            }
            append_upper(builder, &path, &name, xattrs)?;
        } else if meta.is_file() {
            builder.append_data(&mut header, &name, std::fs::File::open(&path)?)?;
        } else {
            // Devices, FIFOs: the header says it all.
            header.set_size(0);
            builder.append_data(&mut header, &name, std::io::empty())?;
        }
    }
    Ok(())
}
// ANCHOR_END: append_upper

impl Engine {
    // ANCHOR: commit
    /// `commit C NAME[:TAG]`: the image's layers + the upper dir as one more.
    pub fn commit(&self, id: &str, name: &str) -> Result<Digest> {
        let record = self.containers.load(id)?;
        let reference = super::images::parse_reference(name)?;
        let plan = super::rootfs::load(&self.containers.paths(id))?;
        let parent = self.image(&record.image_ref, false)?;
        let store = self.store()?;
        let fail = |what: &str, e: std::io::Error| EngineError::Invalid(format!("{what}: {e}"));
        // tar → sha256 (the DiffID) → gzip → the store's verified blob writer.
        let gzip =
            flate2::GzBuilder::new().write(store.new_blob_writer()?, flate2::Compression::new(6));
        let mut builder = tar::Builder::new(Sha256Writer::new(gzip));
        append_upper(&mut builder, &plan.upper, Path::new(""), plan.xattrs())
            .map_err(|e| fail("reading the container's changes", e))?;
        let (gzip, diff_id, _) = builder
            .into_inner()
            .map_err(|e| fail("writing the layer", e))?
            .finish();
        let blob = gzip
            .finish()
            .map_err(|e| fail("compressing the layer", e))?;
        let size = blob.written();
        let digest = blob.commit_new()?;

        let mut config = serde_json::to_value(&parent.config)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let now = ch08_runtime::time::now_rfc3339();
        config["created"] = serde_json::json!(now);
        if let Some(ids) = config["rootfs"]["diff_ids"].as_array_mut() {
            ids.push(serde_json::json!(diff_id.to_string()));
        }
        let step = serde_json::json!({"created": now, "created_by": format!("minibox commit {}", super::ids::short(id))});
        match config["history"].as_array_mut() {
            Some(history) => history.push(step),
            None => config["history"] = serde_json::json!([step]),
        }
        let config_bytes =
            serde_json::to_vec(&config).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let config_digest = store.put_blob(None, &config_bytes)?;
        let mut layers: Vec<serde_json::Value> = parent
            .manifest
            .layers()
            .iter()
            .map(|l| serde_json::to_value(l).unwrap_or_default())
            .collect();
        layers.push(serde_json::json!({"mediaType": media::OCI_LAYER_GZIP, "digest": digest.to_string(), "size": size}));
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": layers,
        });
        let manifest_bytes =
            serde_json::to_vec(&manifest).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let manifest_digest = store.put_blob(None, &manifest_bytes)?;
        store.commit_image(&reference, &manifest_digest, &parent.platform)?;
        Ok(config_digest)
    }
    // ANCHOR_END: commit
}
