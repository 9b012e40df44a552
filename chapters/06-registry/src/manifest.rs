//! `GET /v2/NAME/manifests/REFERENCE`: the one request whose answer depends
//! on what we say we accept.
//!
//! A registry keeps a manifest in the format it was pushed in, but answers
//! with what the client's `Accept` allows: distribution 2.8 answers 404 for
//! an OCI manifest to a client that does not list the OCI type, and rewrites
//! a Docker v2 manifest to the old schema 1 (with another digest). So we
//! list all four current types, cap the size, and check the bytes against
//! the digest we asked for — or, by tag, against `Docker-Content-Digest`.

use crate::client::{header, status_error, Client, Remote, Subject};
use crate::error::RegistryError;
use crate::transport::Exchange;
use ch05_images::Digest;
use ureq::http::Method;

pub use ch05_images::media::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

// ANCHOR: accept
/// What we accept, in the order we prefer (chapter 05's list).
pub const ACCEPT: &[&str] = ch05_images::media::MANIFEST_ACCEPT;

/// The most a manifest may weigh (chapter 05's cap for documents).
pub const MANIFEST_CAP: u64 = ch05_images::store::DOCUMENT_CAP;
// ANCHOR_END: accept

/// A manifest (or index) as the registry sent it, verified.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

impl FetchedManifest {
    /// An index (OCI image index or Docker manifest list), not an image manifest.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_MANIFEST_LIST
    }
}

impl Client {
    /// Fetches the manifest `reference` (a tag or `sha256:…`) of `remote`.
    pub fn get_manifest(
        &self,
        remote: &Remote,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = remote.url(&format!("manifests/{reference}"));
        let separator = if Digest::parse(reference).is_ok() {
            '@'
        } else {
            ':'
        };
        let what = format!("manifest {}{separator}{reference}", remote.repository);
        let subject = Subject {
            what: &what,
            repository: remote.name(),
            action: "pull",
        };
        // ANCHOR: get_manifest
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |url| {
            Exchange::new(Method::GET, url).header("Accept", ACCEPT.join(", "))
        })?;
        if response.status().as_u16() != 200 {
            return Err(status_error("GET", &url, &mut response, &subject));
        }
        let content_type = header(&response, "content-type").map(str::to_string);
        let announced = header(&response, "docker-content-digest").map(str::to_string);
        // Read one byte more than the cap: a body that fills it is too large.
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MANIFEST_CAP + 1)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => RegistryError::TooLarge {
                    what: what.clone(),
                    url: url.clone(),
                    cap: MANIFEST_CAP,
                },
                other => RegistryError::Read {
                    what: what.clone(),
                    url: url.clone(),
                    cause: std::io::Error::other(other),
                },
            })?;
        let digest = Digest::of(&bytes);
        // ANCHOR_END: get_manifest
        // ANCHOR: verify
        // By digest: the bytes must be what we asked for. By tag: what the registry says they are.
        let expected = match Digest::parse(reference) {
            Ok(asked) => Some(asked),
            Err(_) => announced.as_deref().and_then(|a| Digest::parse(a).ok()),
        };
        if let Some(expected) = expected.filter(|e| e != &digest) {
            return Err(RegistryError::DigestMismatch {
                what,
                expected,
                actual: digest,
            });
        }
        // ANCHOR_END: verify
        let media_type = media_type(content_type.as_deref(), &bytes)
            .map_err(|detail| RegistryError::BadContent { what, url, detail })?;
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }
}

/// The manifest's type: `Content-Type` and the body's `mediaType` must agree
/// when both are given; a generic content type defers to the body.
pub fn media_type(content_type: Option<&str>, body: &[u8]) -> Result<String, String> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    if json.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
        return Err(
            "a Docker schema 1 manifest (deprecated, unsigned digests): \
                    ask the image's publisher for a current one"
                .into(),
        );
    }
    let declared = json.get("mediaType").and_then(|m| m.as_str());
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| ACCEPT.contains(c));
    let inferred = if json.get("manifests").is_some() {
        OCI_INDEX
    } else {
        OCI_MANIFEST
    };
    match (header, declared) {
        (Some(h), Some(d)) if h != d => Err(format!(
            "the registry says Content-Type {h} but the manifest says mediaType {d}"
        )),
        (Some(h), _) => Ok(h.to_string()),
        (None, Some(d)) if ACCEPT.contains(&d) => Ok(d.to_string()),
        (None, Some(d)) => Err(format!("unsupported manifest type {d}")),
        (None, None) => Ok(inferred.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_and_media_type_must_agree() {
        let oci =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
        assert_eq!(media_type(Some(OCI_MANIFEST), oci).unwrap(), OCI_MANIFEST);
        assert_eq!(
            media_type(Some("application/json"), oci).unwrap(),
            OCI_MANIFEST
        );
        assert!(media_type(Some(DOCKER_MANIFEST), oci).is_err());
        let bare_index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(media_type(None, bare_index).unwrap(), OCI_INDEX);
        let schema1 = br#"{"schemaVersion":1,"name":"x"}"#;
        assert!(media_type(None, schema1).unwrap_err().contains("schema 1"));
        assert!(media_type(Some(OCI_MANIFEST), b"<html>").is_err());
    }
}
