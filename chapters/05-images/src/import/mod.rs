//! Getting images into the store without a registry: an OCI image layout
//! (a directory, or its tar: an "oci-archive"), a `docker save` tarball (a
//! "docker-archive"), or a plain root filesystem (a directory or a tarball,
//! made into a one-layer image like `docker import` does).
//!
//! Every blob goes through the store's verified writer; every layer through
//! the unpacker and its DiffID check; the name is written last. A failed
//! import takes back the blobs it added (when no one else is using the store;
//! otherwise `gc` does).

mod docker;
mod oci;
mod rootfs;
mod upper;

pub use upper::{layer_from_upper, NewLayer};

use crate::digest::Digest;
use crate::error::StoreError;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::store::{Image, Store};
use std::io::Read;
use std::path::Path;

/// What kind of thing a path holds, as `import` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A directory with `oci-layout`, `index.json` and `blobs/`.
    OciLayout,
    /// A tar of an OCI layout (`skopeo copy … oci-archive:FILE`).
    OciArchive,
    /// `docker save` output: `manifest.json`, configs and layer tars.
    DockerArchive,
    /// Any other directory: a root filesystem, imported as one layer.
    RootfsDir,
    /// Any other tar (plain, gzip or zstd): a root filesystem as one layer.
    RootfsTar,
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceKind::OciLayout => "an OCI image layout",
            SourceKind::OciArchive => "an OCI archive (a tarred OCI layout)",
            SourceKind::DockerArchive => "a docker-archive (`docker save` format)",
            SourceKind::RootfsDir => "a root filesystem directory",
            SourceKind::RootfsTar => "a root filesystem tarball",
        })
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The name to give the image; without one, the name inside the source
    /// (an OCI ref annotation, docker's RepoTags) or the file's name.
    pub name: Option<Reference>,
    /// Which manifest of a multi-platform image to take.
    pub platform: Platform,
    /// For a root filesystem: the image's `Cmd` (it has no config otherwise).
    pub cmd: Option<Vec<String>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            name: None,
            platform: Platform::host(),
            cmd: None,
        }
    }
}

/// Decides what `path` is: by its files for a directory, by its first
/// entries for a tar.
pub fn detect(path: &Path) -> Result<SourceKind, StoreError> {
    let meta = std::fs::metadata(path).map_err(StoreError::io("reading", path))?;
    if meta.is_dir() {
        return Ok(
            if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
                SourceKind::OciLayout
            } else {
                SourceKind::RootfsDir
            },
        );
    }
    let file = std::fs::File::open(path).map_err(StoreError::io("opening", path))?;
    let (reader, compressed) =
        rootfs::decompressed(file).map_err(StoreError::io("reading", path))?;
    if compressed {
        // An image archive is never compressed as a whole; a rootfs tarball often is.
        return Ok(SourceKind::RootfsTar);
    }
    let mut archive = tar::Archive::new(reader);
    let mut has_layout = false;
    let mut has_docker_manifest = false;
    let entries = archive
        .entries()
        .map_err(StoreError::io("reading the tar", path))?;
    for entry in entries {
        let Ok(entry) = entry else { break };
        let name = entry.path().map(|p| normalise(&p)).unwrap_or_default();
        has_layout |= name == "oci-layout";
        has_docker_manifest |= name == "manifest.json";
    }
    // `docker save` since Docker 25 writes both; the OCI side is the richer one.
    Ok(if has_layout {
        SourceKind::OciArchive
    } else if has_docker_manifest {
        SourceKind::DockerArchive
    } else {
        SourceKind::RootfsTar
    })
}

// ANCHOR: import
/// Imports whatever `path` holds (see [`SourceKind`]) and names it.
pub fn import(store: &Store, path: &Path, options: &ImportOptions) -> Result<Image, StoreError> {
    let kind = detect(path)?;
    store
        .narrator()
        .step(&format!("{} is {kind}", path.display()));
    let mut added = Added::default();
    let result = match kind {
        SourceKind::OciLayout => oci::import_layout(store, path, options, &mut added),
        SourceKind::OciArchive => oci::import_archive(store, path, options, &mut added),
        SourceKind::DockerArchive => docker::import(store, path, options, &mut added),
        SourceKind::RootfsDir => rootfs::import_dir(store, path, options, &mut added),
        SourceKind::RootfsTar => rootfs::import_tar(store, path, options, &mut added),
    };
    if result.is_err() {
        // Refused: take back what this import put in, so the store is as it was.
        let _ = store.discard_blobs(&added.0);
    }
    result
}
// ANCHOR_END: import

/// The blobs an import added (they were not in the store before).
#[derive(Debug, Default)]
pub(crate) struct Added(Vec<Digest>);

impl Added {
    /// Copies a blob in (verified) and remembers it if it is new.
    pub(crate) fn copy(
        &mut self,
        store: &Store,
        digest: &Digest,
        size: Option<u64>,
        from: impl Read,
    ) -> Result<(), StoreError> {
        if store.has_blob(digest) {
            return Ok(());
        }
        store.copy_blob(digest, size, from)?;
        self.0.push(digest.clone());
        Ok(())
    }

    pub(crate) fn put(&mut self, store: &Store, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        if !store.has_blob(&digest) {
            store.put_blob(Some(&digest), bytes)?;
            self.0.push(digest.clone());
        }
        Ok(digest)
    }

    pub(crate) fn note(&mut self, digest: Digest) {
        self.0.push(digest);
    }
}

/// `./blobs/x` and `blobs/x` are the same tar member.
pub(crate) fn normalise(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = text
        .trim_start_matches("./")
        .trim_end_matches('/')
        .to_string();
    while out.contains("//") {
        out = out.replace("//", "/");
    }
    out
}

/// A name for an image that has none inside: the file's name, made valid.
pub(crate) fn name_from_path(path: &Path, tag: Option<&str>) -> Result<Reference, StoreError> {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".tgz")
        .trim_end_matches(".tar");
    let cleaned: String = stem
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let text = match tag {
        Some(tag) => format!("{cleaned}:{tag}"),
        None => cleaned.to_string(),
    };
    Reference::parse(&text).map_err(|_| {
        StoreError::Import(format!(
            "{} holds no image name and its file name does not make one: give a NAME[:TAG] after the path",
            path.display()
        ))
    })
}
