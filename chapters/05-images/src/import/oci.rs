//! OCI image layouts: `index.json` names the images, `blobs/sha256/` holds
//! them. From a directory, blobs are copied in as the image needs them; from
//! a tar (oci-archive), every blob member streams into the store as it comes.

use super::{name_from_path, normalise, Added, ImportOptions};
use crate::digest::Digest;
use crate::error::StoreError;
use crate::media::{self, TopKind};
use crate::platform::select_manifest;
use crate::reference::Reference;
use crate::store::{descriptor_digest, Image, Store, DOCUMENT_CAP};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The annotation naming an image in a layout (a tag, or a whole reference).
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's: always a whole reference.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Where an import's blobs come from.
trait Blobs {
    /// Makes sure `digest` is in the store (copying it in, verified).
    fn fetch(
        &self,
        store: &Store,
        added: &mut Added,
        descriptor: &Descriptor,
    ) -> Result<(), StoreError>;
}

/// A layout directory: `DIR/blobs/sha256/<hex>`.
struct LayoutDir(PathBuf);

impl Blobs for LayoutDir {
    fn fetch(
        &self,
        store: &Store,
        added: &mut Added,
        descriptor: &Descriptor,
    ) -> Result<(), StoreError> {
        let digest = descriptor_digest(descriptor)?;
        if store.has_blob(&digest) {
            return Ok(());
        }
        let path = self.0.join("blobs/sha256").join(digest.hex());
        // O_NOFOLLOW: a blob planted as a symlink is refused, not followed.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => StoreError::MissingBlob {
                    what: format!("blob of {} in the layout", descriptor.media_type()),
                    digest: digest.clone(),
                },
                _ => StoreError::io("opening", &path)(e),
            })?;
        store
            .narrator()
            .detail(&format!("copying {} ({} bytes)", digest, descriptor.size()));
        added.copy(store, &digest, Some(descriptor.size()), file)
    }
}

/// Blobs already copied in (an oci-archive's, streamed in one pass).
struct InStore;

impl Blobs for InStore {
    fn fetch(
        &self,
        store: &Store,
        _added: &mut Added,
        descriptor: &Descriptor,
    ) -> Result<(), StoreError> {
        let digest = descriptor_digest(descriptor)?;
        if store.has_blob(&digest) {
            return Ok(());
        }
        Err(StoreError::MissingBlob {
            what: format!("blob of {} in the archive", descriptor.media_type()),
            digest,
        })
    }
}

pub(crate) fn import_layout(
    store: &Store,
    dir: &Path,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    let index_path = dir.join("index.json");
    let index = read_capped(
        File::open(&index_path).map_err(StoreError::io("opening", &index_path))?,
        &index_path,
    )?;
    import_from_index(
        store,
        dir,
        &index,
        &LayoutDir(dir.to_path_buf()),
        options,
        added,
    )
}

pub(crate) fn import_archive(
    store: &Store,
    file: &Path,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    let reader = File::open(file).map_err(StoreError::io("opening", file))?;
    let mut archive = tar::Archive::new(reader);
    let mut index = None;
    for entry in archive
        .entries()
        .map_err(StoreError::io("reading the tar", file))?
    {
        let mut entry = entry.map_err(StoreError::io("reading the tar", file))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = normalise(
            &entry
                .path()
                .map_err(StoreError::io("reading the tar", file))?,
        );
        if name == "index.json" {
            index = Some(read_capped(&mut entry, file)?);
        } else if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            // The member's name is its claimed digest: checked while it streams.
            let digest = Digest::parse(&format!("sha256:{hex}"))?;
            let size = entry.size();
            added.copy(store, &digest, Some(size), &mut entry)?;
        }
    }
    let index = index.ok_or_else(|| {
        StoreError::Import(format!(
            "{} has no index.json: it is not an OCI archive",
            file.display()
        ))
    })?;
    import_from_index(store, file, &index, &InStore, options, added)
}

fn read_capped(reader: impl Read, path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    reader
        .take(DOCUMENT_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(StoreError::io("reading", path))?;
    if bytes.len() as u64 > DOCUMENT_CAP {
        return Err(StoreError::Import(format!(
            "{}: index.json is over {DOCUMENT_CAP} bytes: refusing it",
            path.display()
        )));
    }
    Ok(bytes)
}

fn ref_name(descriptor: &Descriptor) -> Option<&str> {
    let annotations = descriptor.annotations().as_ref()?;
    annotations
        .get(CONTAINERD_NAME)
        .or_else(|| annotations.get(REF_NAME))
        .map(String::as_str)
}

// ANCHOR: choose_from_layout
/// Picks the image from a layout's index.json: by name if it has several
/// names, by platform if it lists one manifest per platform.
fn choose(
    index: &ImageIndex,
    source: &Path,
    options: &ImportOptions,
) -> Result<Descriptor, StoreError> {
    let entries = index.manifests();
    let wanted_tag = options.name.as_ref().and_then(|n| n.tag());
    let named: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| match (ref_name(d), wanted_tag, &options.name) {
            (Some(name), Some(tag), Some(full)) => {
                name == tag || name == full.to_string() || name == full.familiar()
            }
            _ => false,
        })
        .collect();
    match (named.as_slice(), entries.as_slice()) {
        ([one], _) => Ok((*one).clone()),
        (_, [only]) => Ok(only.clone()),
        (_, _) if entries.iter().all(|d| ref_name(d).is_none()) => {
            Ok(select_manifest(index, &options.platform)?)
        }
        _ => {
            let names: Vec<&str> = entries.iter().filter_map(ref_name).collect();
            Err(StoreError::Import(format!(
                "{} holds several images ({}): name the one you want, e.g. `import {} NAME:{}`",
                source.display(),
                names.join(", "),
                source.display(),
                names.first().copied().unwrap_or("TAG")
            )))
        }
    }
}
// ANCHOR_END: choose_from_layout

/// The name the image gets: the one given, else the layout's, else the file's.
fn image_name(
    chosen: &Descriptor,
    source: &Path,
    options: &ImportOptions,
) -> Result<Reference, StoreError> {
    if let Some(name) = &options.name {
        return Ok(name.clone());
    }
    match ref_name(chosen) {
        Some(name) if name.contains('/') || name.contains(':') => match Reference::parse(name) {
            Ok(reference) => Ok(reference),
            Err(_) => name_from_path(source, None),
        },
        Some(tag) => name_from_path(source, Some(tag)),
        None => name_from_path(source, None),
    }
}

fn import_from_index(
    store: &Store,
    source: &Path,
    index_json: &[u8],
    blobs: &dyn Blobs,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    let index: ImageIndex = serde_json::from_slice(index_json).map_err(|e| {
        StoreError::Import(format!(
            "{}: index.json is not an OCI index: {e}",
            source.display()
        ))
    })?;
    let chosen = choose(&index, source, options)?;
    let reference = image_name(&chosen, source, options)?;
    let top = descriptor_digest(&chosen)?;
    blobs.fetch(store, added, &chosen)?;
    // An index: fetch the manifest for our platform out of it.
    let manifest_descriptor = match media::top_kind(None, &store.read_blob(&top, DOCUMENT_CAP)?)? {
        TopKind::Manifest => chosen.clone(),
        TopKind::Index => {
            let inner: ImageIndex = serde_json::from_slice(&store.read_blob(&top, DOCUMENT_CAP)?)
                .map_err(|source| StoreError::BadJson {
                what: "index",
                digest: top.clone(),
                source,
            })?;
            let descriptor = select_manifest(&inner, &options.platform)?;
            blobs.fetch(store, added, &descriptor)?;
            descriptor
        }
    };
    let manifest_digest = descriptor_digest(&manifest_descriptor)?;
    let manifest: ImageManifest = serde_json::from_slice(
        &store.read_blob(&manifest_digest, DOCUMENT_CAP)?,
    )
    .map_err(|source| StoreError::BadJson {
        what: "manifest",
        digest: manifest_digest.clone(),
        source,
    })?;
    blobs.fetch(store, added, manifest.config())?;
    for layer in manifest.layers() {
        blobs.fetch(store, added, layer)?;
    }
    store.narrator().step(&format!(
        "blobs verified: manifest {}, config, {} layer(s)",
        manifest_digest.short(),
        manifest.layers().len()
    ));
    store.commit_image(&reference, &top, &options.platform)
}
