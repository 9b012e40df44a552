//! Images in the store: committing one under a name, and finding it again.

use super::layers::LayerJob;
use super::refs::RefEntry;
use super::{Store, DOCUMENT_CAP};
use crate::digest::Digest;
use crate::error::StoreError;
use crate::media::{self, TopKind};
use crate::platform::{select_manifest, Platform};
use crate::reference::Reference;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use std::path::PathBuf;

/// An image the store can run: its manifest, its config and its layers,
/// each layer unpacked into a directory of its own.
#[derive(Debug, Clone)]
pub struct Image {
    /// The name it was found by (normalised).
    pub reference: Reference,
    /// What the name points at: an index, or the manifest itself.
    pub target: Digest,
    /// The manifest for this machine's platform (docker's "RepoDigest").
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    /// The config's digest: docker's image ID.
    pub config_digest: Digest,
    /// Entrypoint, Cmd, Env, WorkingDir, User, history, the DiffIDs.
    pub config: ImageConfiguration,
    pub platform: Platform,
    /// The layers' DiffIDs, bottom first (from the config).
    pub diff_ids: Vec<Digest>,
    /// The layers' blob digests, bottom first (from the manifest).
    pub layer_digests: Vec<Digest>,
    layers_dir: PathBuf,
}

impl Image {
    /// The unpacked layer directories, bottom first — what chapter 04 stacks.
    pub fn layer_dirs(&self) -> Vec<PathBuf> {
        self.diff_ids
            .iter()
            .map(|d| self.layers_dir.join(d.hex()))
            .collect()
    }

    /// The compressed size of all layers (what a pull downloads).
    pub fn size(&self) -> u64 {
        self.manifest.layers().iter().map(|l| l.size()).sum()
    }
}

/// One line of `ls`.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub reference: Reference,
    pub entry: RefEntry,
    /// The config digest (the image ID), if the manifest could be read.
    pub id: Option<Digest>,
    pub size: u64,
}

/// The digest in a descriptor, validated before it touches a path.
pub(crate) fn descriptor_digest(descriptor: &Descriptor) -> Result<Digest, StoreError> {
    Ok(Digest::parse(descriptor.digest().as_ref())?)
}

impl Store {
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        digest: &Digest,
    ) -> Result<T, StoreError> {
        let bytes = self.read_blob(digest, DOCUMENT_CAP).map_err(|e| match e {
            StoreError::MissingBlob { digest, .. } => StoreError::MissingBlob {
                what: what.to_string(),
                digest,
            },
            StoreError::TooLarge { digest, cap, .. } => StoreError::TooLarge { what, digest, cap },
            other => other,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::BadJson {
            what,
            digest: digest.clone(),
            source,
        })
    }

    /// Is this blob an index or a manifest? (Schema 1 is refused here.)
    pub(crate) fn top_kind(&self, digest: &Digest) -> Result<TopKind, StoreError> {
        let bytes = self.read_blob(digest, DOCUMENT_CAP)?;
        Ok(media::top_kind(None, &bytes)?)
    }

    // ANCHOR: manifest_for
    /// Follows `top` to the manifest for `platform`: an index is a list of
    /// manifests, one per platform; a manifest is already the answer.
    pub(crate) fn manifest_for(
        &self,
        top: &Digest,
        platform: &Platform,
    ) -> Result<Digest, StoreError> {
        match self.top_kind(top)? {
            TopKind::Manifest => Ok(top.clone()),
            TopKind::Index => {
                let index: ImageIndex = self.read_json("index", top)?;
                let chosen = select_manifest(&index, platform)?;
                descriptor_digest(&chosen)
            }
        }
    }
    // ANCHOR_END: manifest_for

    /// Reads a manifest, its config and DiffIDs; checks they agree.
    pub(crate) fn load(
        &self,
        reference: &Reference,
        entry: &RefEntry,
    ) -> Result<Image, StoreError> {
        if self.top_kind(&entry.manifest)? != TopKind::Manifest {
            return Err(media::MediaError::NotAnImage("an index inside an index".into()).into());
        }
        let manifest: ImageManifest = self.read_json("manifest", &entry.manifest)?;
        media::check_config(manifest.config().media_type().as_ref())?;
        let config_digest = descriptor_digest(manifest.config())?;
        let config: ImageConfiguration = self.read_json("config", &config_digest)?;
        let diff_ids = config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        let layer_digests = manifest
            .layers()
            .iter()
            .map(descriptor_digest)
            .collect::<Result<Vec<_>, _>>()?;
        if diff_ids.len() != layer_digests.len() {
            return Err(StoreError::LayerCount {
                image: reference.to_string(),
                layers: layer_digests.len(),
                diff_ids: diff_ids.len(),
            });
        }
        Ok(Image {
            reference: reference.clone(),
            target: entry.target.clone(),
            manifest_digest: entry.manifest.clone(),
            manifest,
            config_digest,
            config,
            platform: Platform::parse(&entry.platform).unwrap_or_else(|_| Platform::host()),
            diff_ids,
            layer_digests,
            layers_dir: self.layers_dir(),
        })
    }

    // ANCHOR: commit_image
    /// Registers a pulled or imported image under `reference`.
    ///
    /// `top` is a manifest or an index already in the store (with the
    /// manifest for `platform`, its config and its layer blobs). Each layer
    /// not yet unpacked is unpacked now — independent layers in parallel —
    /// and its digest and DiffID are checked against the manifest and the
    /// config. Only when every layer is in place is the name written.
    pub fn commit_image(
        &self,
        reference: &Reference,
        top: &Digest,
        platform: &Platform,
    ) -> Result<Image, StoreError> {
        let manifest = self.manifest_for(top, platform)?;
        let entry = RefEntry {
            target: top.clone(),
            manifest,
            platform: platform.to_string(),
        };
        let image = self.load(reference, &entry)?;
        let jobs = self.layers_to_unpack(&image)?;
        self.unpack_layers(&reference.to_string(), jobs)?;
        self.update_refs(|refs| {
            refs.refs.insert(reference.to_string(), entry.clone());
            Ok(())
        })?;
        Ok(image)
    }
    // ANCHOR_END: commit_image

    /// The layers of `image` not unpacked yet (each once), with what they must hash to.
    fn layers_to_unpack(&self, image: &Image) -> Result<Vec<LayerJob>, StoreError> {
        let mut jobs: Vec<LayerJob> = Vec::new();
        for (index, (descriptor, diff_id)) in image
            .manifest
            .layers()
            .iter()
            .zip(&image.diff_ids)
            .enumerate()
        {
            let digest = image.layer_digests[index].clone();
            if !self.has_blob(&digest) {
                return Err(StoreError::MissingBlob {
                    what: format!("layer {index} of {}", image.reference),
                    digest,
                });
            }
            // The same layer twice in one image (empty layers are common) is unpacked once.
            if self.has_layer(diff_id) || jobs.iter().any(|j| j.diff_id == *diff_id) {
                continue;
            }
            jobs.push(LayerJob {
                index,
                digest,
                size: descriptor.size(),
                compression: media::layer_compression(descriptor.media_type().as_ref())?,
                diff_id: diff_id.clone(),
            });
        }
        Ok(jobs)
    }

    /// Finds an image by name — or, for `NAME@sha256:…` or a bare digest
    /// that no name points at, by its manifest digest.
    pub fn resolve(&self, reference: &Reference) -> Result<Image, StoreError> {
        let refs = self.read_refs()?;
        let by_name = refs.refs.get(&reference.to_string());
        let by_digest = || {
            let digest = reference.digest()?;
            refs.refs
                .iter()
                .find(|(name, entry)| {
                    (entry.manifest == *digest || entry.target == *digest)
                        && Reference::parse(name).is_ok_and(|r| r.name() == reference.name())
                })
                .map(|(_, entry)| entry)
        };
        let entry = by_name
            .or_else(by_digest)
            .ok_or_else(|| StoreError::unknown(reference))?;
        let image = self.load(reference, entry)?;
        for (index, dir) in image.layer_dirs().iter().enumerate() {
            if !dir.is_dir() {
                return Err(StoreError::MissingBlob {
                    what: format!("unpacked layer {index} of {reference}"),
                    digest: image.diff_ids[index].clone(),
                });
            }
        }
        Ok(image)
    }

    /// Every name in the store, sorted, with the image ID and size.
    pub fn images(&self) -> Result<Vec<ImageSummary>, StoreError> {
        let refs = self.read_refs()?;
        let mut out = Vec::new();
        for (name, entry) in refs.refs {
            let reference = Reference::parse(&name)?;
            let manifest: Option<ImageManifest> = self.read_json("manifest", &entry.manifest).ok();
            let id = manifest
                .as_ref()
                .and_then(|m| descriptor_digest(m.config()).ok());
            let size = manifest.map_or(0, |m| m.layers().iter().map(|l| l.size()).sum());
            out.push(ImageSummary {
                reference,
                entry,
                id,
                size,
            });
        }
        Ok(out)
    }

    /// Removes a name (`rmi`). Blobs and layers stay until [`Store::gc`].
    pub fn remove_ref(&self, reference: &Reference) -> Result<RefEntry, StoreError> {
        self.update_refs(|refs| {
            refs.refs
                .remove(&reference.to_string())
                .ok_or_else(|| StoreError::unknown(reference))
        })
    }
}
