//! `commit`: the container's upper directory — everything it changed — as
//! a new layer on top of its image. Chapter 05 writes the layer (overlayfs's
//! markers back to OCI whiteouts); here it gets a config and a manifest.

use super::error::{EngineError, Result};
use super::Engine;
use ch05_images::{media, Digest};

impl Engine {
    // ANCHOR: commit
    /// `commit C NAME[:TAG]`: the image's layers + the upper dir as one more.
    pub fn commit(&self, id: &str, name: &str) -> Result<Digest> {
        let record = self.containers.load(id)?;
        let reference = super::images::parse_reference(name)?;
        let plan = super::rootfs::load(&self.containers.paths(id))?;
        let parent = self.image(&record.image_ref, false)?;
        let store = self.store()?;
        let layer = ch05_images::import::layer_from_upper(&store, &plan.upper, plan.xattrs())?;
        let (digest, size, diff_id) = (layer.digest, layer.size, layer.diff_id);

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
