//! `inspect` and `history`: what an image is, as `docker image inspect` and
//! `docker history` show it — from the store's manifest and config.

use crate::store::{Image, Store};
use serde_json::{json, Value};

// ANCHOR: inspect
/// The JSON `docker image inspect` prints, for one image (the fields that
/// exist here; `GraphDriver` lists our layer directories as docker lists its).
pub fn inspect(store: &Store, image: &Image) -> Value {
    let config = image.config.config().clone().unwrap_or_default();
    let ports: Option<serde_json::Map<String, Value>> = config
        .exposed_ports()
        .as_ref()
        .map(|ports| ports.iter().map(|p| (p.clone(), json!({}))).collect());
    let layers: Vec<Value> = image
        .manifest
        .layers()
        .iter()
        .zip(&image.diff_ids)
        .map(|(layer, diff_id)| {
            json!({
                "Digest": layer.digest().to_string(),
                "DiffID": diff_id.to_string(),
                "MediaType": layer.media_type().to_string(),
                "Size": layer.size(),
                "Directory": store.layer_dir(diff_id),
            })
        })
        .collect();
    let lower_top_first: Vec<String> = image
        .layer_dirs()
        .iter()
        .rev()
        .map(|d| d.display().to_string())
        .collect();
    json!({
        "Id": image.config_digest.to_string(),
        "RepoTags": [image.reference.familiar()],
        "RepoDigests": [format!("{}@{}", image.reference.name(), image.manifest_digest)],
        "Created": image.config.created(),
        "Author": image.config.author(),
        "Architecture": image.config.architecture().to_string(),
        "Os": image.config.os().to_string(),
        "Variant": image.config.variant(),
        "Config": {
            "User": config.user().clone().unwrap_or_default(),
            "Env": config.env(),
            "Entrypoint": config.entrypoint(),
            "Cmd": config.cmd(),
            "WorkingDir": config.working_dir().clone().unwrap_or_default(),
            "ExposedPorts": ports,
            "Volumes": config.volumes(),
            "Labels": config.labels(),
            "StopSignal": config.stop_signal(),
        },
        "Size": image.size(),
        "RootFS": { "Type": "layers", "Layers": image.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>() },
        "Layers": layers,
        "History": image.config.history(),
        "Manifest": { "Digest": image.manifest_digest.to_string(), "Target": image.target.to_string(), "Platform": image.platform.to_string() },
        "GraphDriver": { "Name": "overlay", "Data": { "LowerDir": lower_top_first.join(":") } },
    })
}
// ANCHOR_END: inspect

/// One row of `history`, newest first: the step, and the layer it made (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub created: String,
    pub created_by: String,
    /// Compressed size of the layer this step made; `None` for config-only steps.
    pub size: Option<u64>,
    pub comment: String,
}

/// The config's history matched to the layers: every step that is not an
/// `empty_layer` made the next layer, in order.
pub fn history(image: &Image) -> Vec<HistoryRow> {
    let mut sizes = image.manifest.layers().iter().map(|l| l.size());
    let mut rows: Vec<HistoryRow> = image
        .config
        .history()
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|step| HistoryRow {
            created: step.created().clone().unwrap_or_default(),
            created_by: step.created_by().clone().unwrap_or_default(),
            size: if step.empty_layer().unwrap_or(false) {
                None
            } else {
                sizes.next()
            },
            comment: step.comment().clone().unwrap_or_default(),
        })
        .collect();
    // Layers the history does not mention (images built without it) still show.
    for size in sizes {
        rows.push(HistoryRow {
            created: String::new(),
            created_by: "(no history)".into(),
            size: Some(size),
            comment: String::new(),
        });
    }
    rows.reverse();
    rows
}
