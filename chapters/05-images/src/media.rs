//! Media types: what a blob is, as its descriptor says.
//!
//! Every descriptor in an index or a manifest carries a `mediaType`. OCI's
//! types and Docker's older "v2 schema 2" ones name the same three things —
//! index (Docker: manifest list), manifest, layer — so we map both onto one
//! set of kinds. Docker's schema 1 (signed JSON with the layers in the wrong
//! order and no config) predates content addressing of the config; it is
//! refused with a message that says how to get a newer manifest.

use crate::compression::Compression;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What a registry client sends in `Accept` for a manifest: without the OCI
/// types a registry may answer 404 or rewrite the manifest to schema 1.
pub const MANIFEST_ACCEPT: &[&str] = &[
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// What a manifest-like blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopKind {
    /// A list of manifests, one per platform (OCI index, Docker manifest list).
    Index,
    /// One image: a config and its layers (OCI manifest, Docker v2s2 manifest).
    Manifest,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("this is a Docker schema 1 manifest ({0}), which has no config blob and is deprecated: fetch the image again asking for schema 2 or OCI (send those types in Accept), or convert it with `skopeo copy --format oci`")]
    Schema1(String),
    #[error("media type {0:?} is not an image index or manifest (an artifact, a signature or an attestation?): only container images can be used")]
    NotAnImage(String),
    #[error("layer media type {0:?} is not a tar layer: expected tar, tar+gzip or tar+zstd (OCI or Docker types)")]
    UnknownLayer(String),
    #[error("config media type {0:?} is not an image config: this manifest is an artifact, not a container image")]
    NotAConfig(String),
}

/// Classifies a manifest or index from its declared media type, falling back
/// to its shape when none is declared (the `mediaType` field is optional in
/// OCI manifests and indexes).
pub fn top_kind(declared: Option<&str>, body: &[u8]) -> Result<TopKind, MediaError> {
    match declared {
        Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => return Ok(TopKind::Index),
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => return Ok(TopKind::Manifest),
        Some(t @ (DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED)) => {
            return Err(MediaError::Schema1(t.into()))
        }
        Some(other) if !other.is_empty() => return Err(MediaError::NotAnImage(other.into())),
        _ => {}
    }
    // No (usable) type declared: look at the JSON itself.
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(declared) = value.get("mediaType").and_then(|t| t.as_str()) {
        return top_kind(Some(declared), &[]);
    }
    if value.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
        return Err(MediaError::Schema1("schemaVersion 1".into()));
    }
    if value.get("manifests").is_some() {
        Ok(TopKind::Index)
    } else if value.get("layers").is_some() || value.get("config").is_some() {
        Ok(TopKind::Manifest)
    } else {
        Err(MediaError::NotAnImage("(none declared)".into()))
    }
}

// ANCHOR: layer_compression
/// How a layer of this media type is compressed.
pub fn layer_compression(media_type: &str) -> Result<Compression, MediaError> {
    // OCI spells it `…tar+gzip`, Docker `…tar.gzip`; "nondistributable" and
    // "foreign" layers are the same bytes with a restriction on who may copy them.
    let suffix = media_type
        .strip_prefix("application/vnd.oci.image.layer.")
        .or_else(|| media_type.strip_prefix("application/vnd.docker.image.rootfs."))
        .ok_or_else(|| MediaError::UnknownLayer(media_type.into()))?;
    let format = suffix.rsplit_once("tar").map(|(_, format)| format);
    match format {
        Some("") => Ok(Compression::None),
        Some("+gzip" | ".gzip") => Ok(Compression::Gzip),
        Some("+zstd" | ".zstd") => Ok(Compression::Zstd),
        _ => Err(MediaError::UnknownLayer(media_type.into())),
    }
}
// ANCHOR_END: layer_compression

/// The OCI layer media type for a compression (what export writes).
pub fn oci_layer_type(compression: Compression) -> &'static str {
    match compression {
        Compression::None => OCI_LAYER,
        Compression::Gzip => OCI_LAYER_GZIP,
        Compression::Zstd => OCI_LAYER_ZSTD,
    }
}

/// Checks a config descriptor's media type.
pub fn check_config(media_type: &str) -> Result<(), MediaError> {
    match media_type {
        OCI_CONFIG | DOCKER_CONFIG => Ok(()),
        other => Err(MediaError::NotAConfig(other.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_oci_and_docker_layers() {
        for (t, c) in [
            (OCI_LAYER, Compression::None),
            (OCI_LAYER_GZIP, Compression::Gzip),
            (OCI_LAYER_ZSTD, Compression::Zstd),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                Compression::Gzip,
            ),
            (DOCKER_LAYER_GZIP, Compression::Gzip),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                Compression::Gzip,
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                Compression::None,
            ),
        ] {
            assert_eq!(layer_compression(t), Ok(c), "{t}");
        }
        assert!(layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2").is_err());
        assert!(layer_compression("application/json").is_err());
    }

    #[test]
    fn classifies_manifests_and_refuses_schema1() {
        assert_eq!(
            top_kind(Some(DOCKER_MANIFEST_LIST), b""),
            Ok(TopKind::Index)
        );
        assert_eq!(top_kind(Some(DOCKER_MANIFEST), b""), Ok(TopKind::Manifest));
        assert_eq!(
            top_kind(None, br#"{"schemaVersion":2,"manifests":[]}"#),
            Ok(TopKind::Index)
        );
        assert_eq!(
            top_kind(None, br#"{"schemaVersion":2,"config":{},"layers":[]}"#),
            Ok(TopKind::Manifest)
        );
        let schema1 = top_kind(None, br#"{"schemaVersion":1,"fsLayers":[]}"#).unwrap_err();
        assert!(schema1.to_string().contains("schema 1"), "{schema1}");
        assert!(matches!(
            top_kind(Some(DOCKER_SCHEMA1_SIGNED), b""),
            Err(MediaError::Schema1(_))
        ));
    }
}
