//! Layers: each unpacked once, into `tmp/`, checked, then renamed to
//! `layers/sha256/<DiffID>` — the directory every image with this layer shares.

use super::{sync_dir, Store};
use crate::compression::Compression;
use crate::digest::Digest;
use crate::error::StoreError;
use crate::unpack::{unpack_layer, Unpacked};
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A layer to unpack: where it sits in the image, its blob, what it must hash to.
#[derive(Debug, Clone)]
pub(crate) struct LayerJob {
    pub index: usize,
    pub digest: Digest,
    pub size: u64,
    pub compression: Compression,
    pub diff_id: Digest,
}

impl Store {
    /// The unpacked layer with this DiffID (it may not exist yet).
    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.layers_dir().join(diff_id.hex())
    }

    /// True if the layer is unpacked (nothing incomplete is ever there).
    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer_dir(diff_id).is_dir()
    }

    // ANCHOR: unpack_layers
    // ANCHOR: unpack_parallel
    /// Unpacks `jobs` in parallel (the layers of an image are independent:
    /// each goes into its own directory), then moves them into place.
    pub(crate) fn unpack_layers(&self, image: &str, jobs: Vec<LayerJob>) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(jobs.len());
        let queue = Mutex::new(jobs.into_iter());
        let done: Mutex<Vec<(LayerJob, Result<tempfile::TempDir, StoreError>)>> =
            Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some(job) = next else { break };
                    let result = self.unpack_one(image, &job);
                    if let Ok(mut done) = done.lock() {
                        done.push((job, result));
                    }
                });
            }
        });
        // ANCHOR_END: unpack_parallel
        // ANCHOR: unpack_into_place
        let mut done = done.into_inner().unwrap_or_default();
        done.sort_by_key(|(job, _)| job.index);
        // Any failure: every temp directory is dropped (removed), nothing moved.
        let mut ready = Vec::new();
        for (job, result) in done {
            ready.push((job, result?));
        }
        // One syncfs(2) for all layers before any becomes visible: after a
        // crash a layer directory is complete or absent.
        if let Some((_, first)) = ready.first() {
            let dir = File::open(first.path()).map_err(StoreError::io("opening", first.path()))?;
            nix::unistd::syncfs(&dir).map_err(StoreError::errno("syncfs", first.path()))?;
        }
        for (job, tmp) in ready {
            self.move_into_place(tmp, &job.diff_id)?;
        }
        sync_dir(&self.layers_dir())
    }
    // ANCHOR_END: unpack_into_place
    // ANCHOR_END: unpack_layers

    /// One layer into a fresh temp directory, verified against the manifest and config.
    fn unpack_one(&self, image: &str, job: &LayerJob) -> Result<tempfile::TempDir, StoreError> {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("layer-{}-", job.diff_id.short()))
            .tempdir_in(self.tmp_dir())
            .map_err(StoreError::io(
                "creating a temporary directory in",
                self.tmp_dir(),
            ))?;
        // mkdtemp(3) makes 0700; a layer's root is 0755 unless its tar says otherwise.
        fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .map_err(StoreError::io("chmod", tmp.path()))?;
        let blob_path = self.blob_path(&job.digest);
        let blob = File::open(&blob_path).map_err(StoreError::io("opening", &blob_path))?;
        self.narrator.detail(&format!(
            "unpacking layer {} ({}, {} bytes, {:?}) into {}",
            job.index,
            job.digest.short(),
            job.size,
            job.compression,
            tmp.path().display()
        ));
        let unpacked: Unpacked = unpack_layer(
            BufReader::new(blob),
            job.compression,
            tmp.path(),
            &self.unpack,
        )
        .map_err(|source| StoreError::Unpack {
            image: image.to_string(),
            index: job.index,
            digest: job.digest.clone(),
            source,
        })?;
        // ANCHOR: verify_layer
        if unpacked.digest != job.digest {
            return Err(StoreError::DigestMismatch {
                expected: job.digest.clone(),
                actual: unpacked.digest,
            });
        }
        if unpacked.diff_id != job.diff_id {
            return Err(StoreError::DiffIdMismatch {
                image: image.to_string(),
                index: job.index,
                digest: job.digest.clone(),
                expected: job.diff_id.clone(),
                actual: unpacked.diff_id,
            });
        }
        // ANCHOR_END: verify_layer
        self.narrator.step(&format!(
            "layer {} {}: {} entries, {} bytes unpacked; digest and DiffID {} match",
            job.index,
            job.digest.short(),
            unpacked.entries,
            unpacked.uncompressed_size,
            job.diff_id.short()
        ));
        Ok(tmp)
    }

    /// rename(2) of a finished layer to its DiffID name. If another process
    /// got there first, its copy is the same layer: ours is thrown away.
    fn move_into_place(&self, tmp: tempfile::TempDir, diff_id: &Digest) -> Result<(), StoreError> {
        let target = self.layer_dir(diff_id);
        let tmp_path = tmp.keep();
        match fs::rename(&tmp_path, &target) {
            Ok(()) => Ok(()),
            Err(e)
                if target.is_dir()
                    && matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) =>
            {
                remove_tree(&tmp_path)
            }
            Err(e) => {
                let _ = remove_tree(&tmp_path);
                Err(StoreError::io("renaming a layer to", &target)(e))
            }
        }
    }
}

pub(crate) fn remove_tree(path: &Path) -> Result<(), StoreError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("removing", path)(e)),
    }
}
