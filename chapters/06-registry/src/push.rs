//! `push`: an image from chapter 05's store to a registry.
//!
//! Blobs first (layers, then the config), each skipped if the registry has
//! it, mounted from the source repository if that is on the same registry,
//! uploaded otherwise; the manifest last, by tag. The digest printed at the
//! end is the manifest's sha256 — the same for every client that pushes
//! these bytes, which is why `skopeo` and we agree.

use crate::client::{Client, Remote};
use crate::error::RegistryError;
use crate::mirror::registry_host;
use crate::upload::Mount;
use ch05_images::{Digest, Reference, Store};

/// What a push tells its watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The registry has this blob already.
    Exists { digest: Digest },
    /// Linked from another repository of the same registry.
    Mounted { digest: Digest, from: String },
    /// Bytes uploaded so far.
    Uploading {
        digest: Digest,
        sent: u64,
        size: u64,
    },
    /// The upload session broke; starting a new one.
    Restarting { digest: Digest, reason: String },
    /// Uploaded and verified by the registry.
    Pushed { digest: Digest },
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    pub size: usize,
}

/// Pushes the image `source` names in `store` to `destination`.
pub fn push(
    client: &Client,
    store: &Store,
    source: &Reference,
    destination: &Reference,
    watch: &dyn Fn(PushEvent),
) -> Result<Pushed, RegistryError> {
    // ANCHOR: push
    let image = store.resolve(source)?;
    let registry = registry_host(destination);
    let endpoint = client.ping(&registry)?;
    // Within one registry, a blob of another repository can be linked, not sent.
    let mount_from = (registry_host(source) == registry
        && source.repository() != destination.repository())
    .then(|| source.repository().to_string());
    let remote = Remote::push(&endpoint, destination.repository(), mount_from.as_deref());

    let mut blobs: Vec<(Digest, u64)> = Vec::new();
    for (digest, layer) in image.layer_digests.iter().zip(image.manifest.layers()) {
        if !blobs.iter().any(|(d, _)| d == digest) {
            blobs.push((digest.clone(), layer.size()));
        }
    }
    blobs.push((image.config_digest.clone(), image.manifest.config().size()));
    // ANCHOR_END: push
    for (digest, size) in &blobs {
        push_blob(
            client,
            store,
            &remote,
            digest,
            *size,
            mount_from.as_deref(),
            watch,
        )?;
    }

    let bytes = store.read_blob(&image.manifest_digest, ch05_images::store::DOCUMENT_CAP)?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|m| m.get("mediaType")?.as_str().map(str::to_string))
        .unwrap_or_else(|| crate::manifest::OCI_MANIFEST.to_string());
    // By tag; a destination given only by digest is pushed by that digest.
    let tag = match (destination.tag(), destination.digest()) {
        (Some(tag), _) => tag.to_string(),
        (None, Some(digest)) => digest.to_string(),
        (None, None) => ch05_images::reference::DEFAULT_TAG.to_string(),
    };
    let digest = client.put_manifest(&remote, &tag, &media_type, &bytes)?;
    Ok(Pushed {
        tag,
        digest,
        size: bytes.len(),
    })
}

fn push_blob(
    client: &Client,
    store: &Store,
    remote: &Remote,
    digest: &Digest,
    size: u64,
    mount_from: Option<&str>,
    watch: &dyn Fn(PushEvent),
) -> Result<(), RegistryError> {
    if client.blob_exists(remote, digest)? {
        watch(PushEvent::Exists {
            digest: digest.clone(),
        });
        return Ok(());
    }
    let session = match mount_from {
        Some(from) => match client.mount_blob(remote, digest, from)? {
            Mount::Mounted => {
                watch(PushEvent::Mounted {
                    digest: digest.clone(),
                    from: from.to_string(),
                });
                return Ok(());
            }
            Mount::Upload(session) => session,
        },
        None => client.start_upload(remote)?,
    };
    let progress = |sent| {
        watch(PushEvent::Uploading {
            digest: digest.clone(),
            sent,
            size,
        })
    };
    let path = store.blob_path(digest);
    if let Err(first) = client.upload_blob(remote, digest, &path, session, &progress) {
        // A session that broke (a PATCH whose answer was lost: its retry
        // then meets a 404 BLOB_UPLOAD_INVALID or a 416) is abandoned: one
        // new session, from byte 0.
        let broken = matches!(
            first,
            RegistryError::Connection { .. }
                | RegistryError::Status { .. }
                | RegistryError::NotFound { .. }
        );
        if !broken {
            return Err(first);
        }
        watch(PushEvent::Restarting {
            digest: digest.clone(),
            reason: first.to_string(),
        });
        let session = client.start_upload(remote)?;
        client.upload_blob(remote, digest, &path, session, &progress)?;
    }
    watch(PushEvent::Pushed {
        digest: digest.clone(),
    });
    Ok(())
}
