//! `pull`: a reference becomes an image in chapter 05's store.
//!
//! ```text
//! GET /v2/                              ping (and the auth challenge)
//! GET /v2/NAME/manifests/TAG            an index or a manifest
//! GET /v2/NAME/manifests/sha256:…       the manifest for our platform (if an index)
//! GET /v2/NAME/blobs/sha256:…           the config, then each layer (3 at a time)
//! ```
//!
//! Every document and blob is stored under its digest only after its bytes
//! hash to it; the name is written last (chapter 05's `commit_image`), when
//! every layer is unpacked and its DiffID checked. A pull killed at any
//! point leaves no partial or wrong blob, and no name.

use crate::client::{Client, Endpoint, Remote};
use crate::error::RegistryError;
use crate::manifest::FetchedManifest;
use crate::mirror::{registry_host, Mirrors};
use ch05_images::platform::select_manifest;
use ch05_images::{Digest, Image, Platform, Reference, Store, StoreError};
use oci_spec::image::{ImageIndex, ImageManifest};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What a pull tells its watcher (the demo draws progress bars from these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// About to ping this source: a mirror's URL, or the registry's host.
    Endpoint { base: String, mirror: bool },
    /// A mirror failed; the next endpoint is tried.
    MirrorFailed { base: String, error: String },
    /// The reference resolved to this manifest or index.
    Resolved { digest: Digest, media_type: String },
    /// The index's entry for our platform.
    PlatformChosen { platform: String, digest: Digest },
    /// A single-platform image built for another platform than asked for.
    OtherPlatform { wanted: String, found: String },
    /// A blob is waiting for a download slot.
    Waiting {
        digest: Digest,
        size: u64,
        layer: bool,
    },
    /// Already in the store: not downloaded.
    AlreadyExists { digest: Digest },
    /// Bytes of a blob so far.
    Downloading {
        digest: Digest,
        written: u64,
        size: u64,
    },
    /// The bytes did not match the digest: thrown away, fetched once more.
    Refetching { digest: Digest, reason: String },
    /// Verified and in the store.
    Complete { digest: Digest },
    /// Every blob is in; chapter 05 unpacks the layers and writes the name.
    Committing,
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub platform: Platform,
    /// Blobs downloaded at once (docker's default is 3).
    pub max_concurrent_downloads: usize,
    pub mirrors: Mirrors,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: Platform::host(),
            max_concurrent_downloads: 3,
            mirrors: Mirrors::default(),
        }
    }
}

/// What a pull did.
#[derive(Debug)]
pub struct Pulled {
    pub image: Image,
    /// What the reference pointed at (an index or the manifest).
    pub digest: Digest,
    /// Where it came from.
    pub endpoint: Endpoint,
}

/// The watcher of a pull (called from the download threads too).
pub type Watch<'w> = &'w (dyn Fn(PullEvent) + Sync);

// ANCHOR: pull
/// Pulls `reference` into `store`: mirrors first (if any), then the registry.
pub fn pull(
    client: &Client,
    store: &Store,
    reference: &Reference,
    options: &PullOptions,
    watch: Watch,
) -> Result<Pulled, RegistryError> {
    for mirror in options.mirrors.for_reference(reference) {
        let endpoint = Endpoint::from_url(mirror);
        watch(PullEvent::Endpoint {
            base: endpoint.base.clone(),
            mirror: true,
        });
        let pulled = client
            .ping_endpoint(&endpoint)
            .and_then(|()| pull_from(client, store, &endpoint, reference, options, watch));
        match pulled {
            Ok(pulled) => return Ok(pulled),
            // The store's own failures (a full disk) are not the mirror's fault.
            Err(e @ RegistryError::Store(_)) => return Err(e),
            Err(e) => watch(PullEvent::MirrorFailed {
                base: endpoint.base.clone(),
                error: e.to_string(),
            }),
        }
    }
    let registry = registry_host(reference);
    watch(PullEvent::Endpoint {
        base: registry.clone(),
        mirror: false,
    });
    let endpoint = client.ping(&registry)?;
    pull_from(client, store, &endpoint, reference, options, watch)
}
// ANCHOR_END: pull

/// The manifest for `options.platform` that `reference` names, stored (with
/// the index it came from, if any). Returns (top digest, manifest).
pub fn fetch_image_manifest(
    client: &Client,
    store: &Store,
    remote: &Remote,
    reference: &Reference,
    platform: &Platform,
    watch: Watch,
) -> Result<(Digest, FetchedManifest), RegistryError> {
    // By digest when we have one (`name:tag@sha256:…` pins the digest).
    let wanted = match (reference.digest(), reference.tag()) {
        (Some(digest), _) => digest.to_string(),
        (None, Some(tag)) => tag.to_string(),
        (None, None) => ch05_images::reference::DEFAULT_TAG.to_string(),
    };
    let top = client.get_manifest(remote, &wanted)?;
    watch(PullEvent::Resolved {
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
    });
    store.put_blob(Some(&top.digest), &top.bytes)?;
    if !top.is_index() {
        return Ok((top.digest.clone(), top));
    }
    // ANCHOR: platform
    let index: ImageIndex = parse_json(&top, "image index")?;
    let entry = select_manifest(&index, platform).map_err(StoreError::from)?;
    let digest = Digest::parse(entry.digest().as_ref()).map_err(StoreError::from)?;
    watch(PullEvent::PlatformChosen {
        platform: platform.to_string(),
        digest: digest.clone(),
    });
    let manifest = client.get_manifest(remote, &digest.to_string())?;
    // ANCHOR_END: platform
    if manifest.bytes.len() as u64 != entry.size() {
        return Err(RegistryError::BadContent {
            what: format!("manifest {digest}"),
            url: remote.url(&format!("manifests/{digest}")),
            detail: format!(
                "{} bytes, but the index says {}",
                manifest.bytes.len(),
                entry.size()
            ),
        });
    }
    store.put_blob(Some(&manifest.digest), &manifest.bytes)?;
    Ok((top.digest.clone(), manifest))
}

fn parse_json<T: serde::de::DeserializeOwned>(
    fetched: &FetchedManifest,
    what: &str,
) -> Result<T, RegistryError> {
    serde_json::from_slice(&fetched.bytes).map_err(|e| RegistryError::BadContent {
        what: format!("{what} {}", fetched.digest),
        url: String::new(),
        detail: format!("not a valid {what}: {e}"),
    })
}

fn pull_from(
    client: &Client,
    store: &Store,
    endpoint: &Endpoint,
    reference: &Reference,
    options: &PullOptions,
    watch: Watch,
) -> Result<Pulled, RegistryError> {
    let remote = Remote::pull(endpoint, reference.repository());
    let (top, manifest) =
        fetch_image_manifest(client, store, &remote, reference, &options.platform, watch)?;
    let parsed: ImageManifest = parse_json(&manifest, "image manifest")?;
    ch05_images::media::check_config(parsed.config().media_type().as_ref())
        .map_err(StoreError::from)?;
    let mut blobs = vec![(parsed.config().clone(), false)];
    for layer in parsed.layers() {
        ch05_images::media::layer_compression(layer.media_type().as_ref())
            .map_err(StoreError::from)?;
        if !blobs.iter().any(|(b, _)| b.digest() == layer.digest()) {
            blobs.push((layer.clone(), true));
        }
    }
    let mut jobs = VecDeque::new();
    for (descriptor, layer) in blobs {
        let digest = Digest::parse(descriptor.digest().as_ref()).map_err(StoreError::from)?;
        jobs.push_back((digest, descriptor.size(), layer));
    }
    download_all(
        client,
        store,
        &remote,
        jobs,
        options.max_concurrent_downloads,
        watch,
    )?;
    // No index: the image is for whatever platform its config says.
    let mut platform = options.platform.clone();
    if top == manifest.digest {
        let config = Digest::parse(parsed.config().digest().as_ref()).map_err(StoreError::from)?;
        if let Some(found) = config_platform(store, &config)? {
            if found != platform {
                watch(PullEvent::OtherPlatform {
                    wanted: platform.to_string(),
                    found: found.to_string(),
                });
            }
            platform = found;
        }
    }
    watch(PullEvent::Committing);
    let image = store.commit_image(reference, &top, &platform)?;
    Ok(Pulled {
        image,
        digest: top,
        endpoint: endpoint.clone(),
    })
}

/// The platform an image config names (`os`, `architecture`, `variant`).
fn config_platform(store: &Store, config: &Digest) -> Result<Option<Platform>, RegistryError> {
    let bytes = store.read_blob(config, ch05_images::store::DOCUMENT_CAP)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |key: &str| json.get(key).and_then(|v| v.as_str());
    Ok(match (text("os"), text("architecture")) {
        (Some(os), Some(architecture)) => Some(Platform::new(os, architecture, text("variant"))),
        _ => None,
    })
}

// ANCHOR: download_all
// ANCHOR: download_all_queue
/// Downloads the blobs with at most `workers` at once; the first failure
/// stops the others from starting new ones.
fn download_all(
    client: &Client,
    store: &Store,
    remote: &Remote,
    jobs: VecDeque<(Digest, u64, bool)>,
    workers: usize,
    watch: Watch,
) -> Result<(), RegistryError> {
    for (digest, size, layer) in &jobs {
        watch(PullEvent::Waiting {
            digest: digest.clone(),
            size: *size,
            layer: *layer,
        });
    }
    let queue = Mutex::new(jobs);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    // ANCHOR_END: download_all_queue
    // ANCHOR: download_all_workers
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, 16) {
            scope.spawn(|| loop {
                if failed.load(Ordering::SeqCst) {
                    return;
                }
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((digest, size, _)) = next else {
                    return;
                };
                if let Err(e) = fetch_blob(client, store, remote, &digest, size, watch) {
                    failed.store(true, Ordering::SeqCst);
                    first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
// ANCHOR_END: download_all_workers
// ANCHOR_END: download_all

/// One blob into the store: skipped if there, verified on commit; bytes
/// that do not match are thrown away and fetched once more, then refused.
pub fn fetch_blob(
    client: &Client,
    store: &Store,
    remote: &Remote,
    digest: &Digest,
    size: u64,
    watch: Watch,
) -> Result<(), RegistryError> {
    if store.has_blob(digest) {
        watch(PullEvent::AlreadyExists {
            digest: digest.clone(),
        });
        return Ok(());
    }
    let progress = |written| {
        watch(PullEvent::Downloading {
            digest: digest.clone(),
            written,
            size,
        })
    };
    // ANCHOR: fetch_blob
    let mut refetched = false;
    loop {
        // A temp file in the store: dropped on any error, renamed only by commit.
        let mut writer = store.blob_writer(digest, Some(size))?;
        client.download_blob(remote, digest, size, &mut writer, &progress)?;
        match writer.commit() {
            Ok(()) => {
                watch(PullEvent::Complete {
                    digest: digest.clone(),
                });
                return Ok(());
            }
            Err(e @ (StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. })) => {
                if refetched {
                    return Err(RegistryError::BlobRefused {
                        digest: digest.clone(),
                        detail: e.to_string(),
                    });
                }
                refetched = true;
                watch(PullEvent::Refetching {
                    digest: digest.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
            // ANCHOR_END: fetch_blob
        }
    }
}
