//! `docker save` tarballs ("docker-archive"): a `manifest.json` that lists,
//! per image, its config file, its RepoTags and its layer tars. There is no
//! OCI manifest inside, so we write one: same config, same layers — and so
//! the same DiffIDs and image ID as the image that was saved.

use super::{name_from_path, normalise, Added, ImportOptions};
use crate::compression::Compression;
use crate::digest::Digest;
use crate::error::StoreError;
use crate::media;
use crate::reference::Reference;
use crate::store::{Image, Store, DOCUMENT_CAP};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// One image in `manifest.json`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SavedImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A member copied into the store.
#[derive(Debug, Clone)]
struct Stored {
    digest: Digest,
    size: u64,
    compression: Compression,
}

pub(crate) fn import(
    store: &Store,
    file: &Path,
    options: &ImportOptions,
    added: &mut Added,
) -> Result<Image, StoreError> {
    // Pass 1: manifest.json (and the symlinks older dockers use for shared layers).
    let mut saved: Option<Vec<SavedImage>> = None;
    let mut links: HashMap<String, String> = HashMap::new();
    let mut archive = tar::Archive::new(File::open(file).map_err(StoreError::io("opening", file))?);
    for entry in archive
        .entries()
        .map_err(StoreError::io("reading the tar", file))?
    {
        let mut entry = entry.map_err(StoreError::io("reading the tar", file))?;
        let name = normalise(
            &entry
                .path()
                .map_err(StoreError::io("reading the tar", file))?,
        );
        match entry.header().entry_type() {
            tar::EntryType::Regular if name == "manifest.json" => {
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(DOCUMENT_CAP)
                    .read_to_end(&mut bytes)
                    .map_err(StoreError::io("reading", file))?;
                saved = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    StoreError::Import(format!(
                        "{}: manifest.json is not docker's save format: {e}",
                        file.display()
                    ))
                })?);
            }
            tar::EntryType::Symlink => {
                if let Ok(Some(target)) = entry.link_name() {
                    let dir = Path::new(&name).parent().unwrap_or(Path::new(""));
                    links.insert(name.clone(), normalise(&lexical_join(dir, &target)));
                }
            }
            _ => {}
        }
    }
    let saved = saved.ok_or_else(|| {
        StoreError::Import(format!(
            "{} has no manifest.json: it is not a docker-archive",
            file.display()
        ))
    })?;
    let (image, tag) = choose(&saved, file, options)?;
    let resolve = |name: &str| {
        let name = normalise(Path::new(name));
        links.get(&name).cloned().unwrap_or(name)
    };
    let wanted: Vec<String> = std::iter::once(&image.config)
        .chain(&image.layers)
        .map(|n| resolve(n))
        .collect();

    // Pass 2: stream the config and the layers into the store.
    let mut stored: HashMap<String, Stored> = HashMap::new();
    let mut archive = tar::Archive::new(File::open(file).map_err(StoreError::io("opening", file))?);
    for entry in archive
        .entries()
        .map_err(StoreError::io("reading the tar", file))?
    {
        let entry = entry.map_err(StoreError::io("reading the tar", file))?;
        let name = normalise(
            &entry
                .path()
                .map_err(StoreError::io("reading the tar", file))?,
        );
        if entry.header().entry_type() != tar::EntryType::Regular
            || !wanted.contains(&name)
            || stored.contains_key(&name)
        {
            continue;
        }
        let one = store_member(store, entry, file)?;
        added.note(one.digest.clone());
        stored.insert(name, one);
    }
    let member = |name: &String| {
        stored.get(name).cloned().ok_or_else(|| {
            StoreError::Import(format!(
                "{}: manifest.json names {name}, which is not in the archive",
                file.display()
            ))
        })
    };
    let config = member(&wanted[0])?;
    let layers = wanted[1..]
        .iter()
        .map(member)
        .collect::<Result<Vec<_>, _>>()?;

    // ANCHOR: docker_manifest
    // The manifest docker never wrote: the config and the layers as they are.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": { "mediaType": media::OCI_CONFIG, "digest": config.digest.to_string(), "size": config.size },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": media::oci_layer_type(l.compression),
            "digest": l.digest.to_string(),
            "size": l.size,
        })).collect::<Vec<_>>(),
    });
    // ANCHOR_END: docker_manifest
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| StoreError::Import(format!("writing a manifest: {e}")))?;
    let manifest_digest = added.put(store, &bytes)?;
    let reference = match (&options.name, tag) {
        (Some(name), _) => name.clone(),
        (None, Some(tag)) => Reference::parse(&tag)?,
        (None, None) => name_from_path(file, None)?,
    };
    store.narrator().step(&format!(
        "wrote an OCI manifest {} for docker's config {} and {} layer(s)",
        manifest_digest.short(),
        config.digest.short(),
        layers.len()
    ));
    store.commit_image(&reference, &manifest_digest, &options.platform)
}

/// Which saved image to take, and its first tag.
fn choose<'a>(
    saved: &'a [SavedImage],
    file: &Path,
    options: &ImportOptions,
) -> Result<(&'a SavedImage, Option<String>), StoreError> {
    let tags = |image: &SavedImage| image.repo_tags.clone().unwrap_or_default();
    if let Some(name) = &options.name {
        let matching = saved.iter().find(|image| {
            tags(image)
                .iter()
                .any(|t| Reference::parse(t).is_ok_and(|r| r == *name))
        });
        if let Some(image) = matching {
            return Ok((image, None));
        }
    }
    match saved {
        [one] => Ok((one, tags(one).into_iter().next())),
        [] => Err(StoreError::Import(format!(
            "{}: manifest.json lists no image",
            file.display()
        ))),
        _ => {
            let all: Vec<String> = saved.iter().flat_map(tags).collect();
            Err(StoreError::Import(format!(
                "{} holds {} images ({}): name the one you want after the path",
                file.display(),
                saved.len(),
                all.join(", ")
            )))
        }
    }
}

/// Streams one member into the store, learning its digest and compression.
fn store_member(store: &Store, entry: impl Read, file: &Path) -> Result<Stored, StoreError> {
    let mut reader = BufReader::new(entry);
    let magic = reader.fill_buf().map_err(StoreError::io("reading", file))?;
    let compression = if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let mut writer = store.new_blob_writer()?;
    std::io::copy(&mut reader, &mut writer).map_err(StoreError::io("copying a member of", file))?;
    writer
        .flush()
        .map_err(StoreError::io("copying a member of", file))?;
    let size = writer.written();
    let digest = writer.commit_new()?;
    Ok(Stored {
        digest,
        size,
        compression,
    })
}

/// `dir/../x` without touching the filesystem (tar symlinks are relative to their directory).
fn lexical_join(dir: &Path, target: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for component in dir.join(target).components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out
}
