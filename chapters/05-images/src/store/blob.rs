//! Blobs: written to a temp file, hashed while they stream, renamed into
//! place only when size and digest are right.

use super::{sync_dir, Store};
use crate::digest::{Digest, Sha256Writer};
use crate::error::StoreError;
use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

impl Store {
    /// True if the blob is in the store (complete and verified: nothing else
    /// is ever under `blobs/`).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Where a blob lives: `blobs/sha256/<hex>`. The digest was validated
    /// when parsed, so the path cannot leave `blobs/sha256/`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.hex())
    }

    /// A writer for the blob `expected`: a temp file in `tmp/` (the same
    /// filesystem, so the final rename is atomic). See [`BlobWriter`].
    pub fn blob_writer(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobWriter, StoreError> {
        self.writer(Some(expected.clone()), expected_size)
    }

    /// A writer for content whose digest is known only at the end (a layer
    /// being built); [`BlobWriter::commit_new`] returns it.
    pub fn new_blob_writer(&self) -> Result<BlobWriter, StoreError> {
        self.writer(None, None)
    }

    fn writer(
        &self,
        expected: Option<Digest>,
        expected_size: Option<u64>,
    ) -> Result<BlobWriter, StoreError> {
        let tmp = self.tmp_dir();
        let prefix = match &expected {
            Some(digest) => format!("blob-{}-", digest.short()),
            None => "blob-new-".to_string(),
        };
        let file = tempfile::Builder::new()
            .prefix(&prefix)
            .tempfile_in(&tmp)
            .map_err(StoreError::io("creating a temporary blob in", &tmp))?;
        Ok(BlobWriter {
            file: Sha256Writer::new(file),
            expected,
            expected_size,
            blobs_dir: self.blobs_dir(),
        })
    }

    /// Stores `bytes` (a manifest, a config) and returns its digest; with
    /// `expected`, refuses bytes that do not hash to it.
    pub fn put_blob(&self, expected: Option<&Digest>, bytes: &[u8]) -> Result<Digest, StoreError> {
        let actual = Digest::of(bytes);
        if let Some(expected) = expected {
            if *expected != actual {
                return Err(StoreError::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        if self.has_blob(&actual) {
            return Ok(actual);
        }
        let mut writer = self.blob_writer(&actual, Some(bytes.len() as u64))?;
        writer
            .write_all(bytes)
            .map_err(StoreError::io("writing", writer.temp_path()))?;
        writer.commit()?;
        Ok(actual)
    }

    /// Copies a blob in from a reader, verifying it (`expected_size` if known).
    pub fn copy_blob(
        &self,
        expected: &Digest,
        expected_size: Option<u64>,
        mut from: impl Read,
    ) -> Result<(), StoreError> {
        if self.has_blob(expected) {
            return Ok(());
        }
        let mut writer = self.blob_writer(expected, expected_size)?;
        std::io::copy(&mut from, &mut writer).map_err(|e| {
            match e.get_ref().and_then(|inner| inner.downcast_ref::<TooBig>()) {
                Some(too_big) => StoreError::SizeMismatch {
                    digest: expected.clone(),
                    expected: too_big.expected,
                    actual: too_big.actual,
                },
                None => StoreError::io("copying blob", writer.temp_path())(e),
            }
        })?;
        writer.commit()
    }

    /// Reads a whole blob of at most `cap` bytes (manifests, configs, indexes
    /// use [`super::DOCUMENT_CAP`]), checking its digest again on the way.
    pub fn read_blob(&self, digest: &Digest, cap: u64) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::MissingBlob {
                what: "blob".into(),
                digest: digest.clone(),
            },
            _ => StoreError::io("opening", &path)(e),
        })?;
        let mut bytes = Vec::new();
        // One byte more than the cap tells "too large" from "exactly the cap".
        file.take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(StoreError::io("reading", &path))?;
        if bytes.len() as u64 > cap {
            return Err(StoreError::TooLarge {
                what: "blob",
                digest: digest.clone(),
                cap,
            });
        }
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}

/// A blob being written. Bytes go to a temp file and through sha256;
/// [`BlobWriter::commit`] checks size and digest, fsyncs and renames the file
/// to `blobs/sha256/<hex>`. Dropped without commit, the temp file is removed.
///
/// The writer survives a broken connection: keep writing where it stopped
/// ([`BlobWriter::written`] is the offset for an HTTP `Range: bytes=N-`
/// request), or [`BlobWriter::restart`] if the server cannot resume.
#[derive(Debug)]
pub struct BlobWriter {
    file: Sha256Writer<tempfile::NamedTempFile>,
    expected: Option<Digest>,
    expected_size: Option<u64>,
    blobs_dir: PathBuf,
}

/// The error inside an `io::Error` when more bytes arrive than the descriptor said.
#[derive(Debug, thiserror::Error)]
#[error("{actual} bytes written, but the blob is {expected} bytes")]
struct TooBig {
    expected: u64,
    actual: u64,
}

impl BlobWriter {
    fn temp_path(&self) -> PathBuf {
        self.file.get_ref().path().to_path_buf()
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.file.bytes()
    }

    /// The digest this blob must have (`None` for [`Store::new_blob_writer`]).
    pub fn expected(&self) -> Option<&Digest> {
        self.expected.as_ref()
    }

    /// Throws away what was written, to start again from byte 0.
    pub fn restart(&mut self) -> Result<(), StoreError> {
        let path = self.temp_path();
        let file = self.file.get_mut();
        file.as_file_mut()
            .set_len(0)
            .and_then(|()| file.as_file_mut().rewind())
            .map_err(StoreError::io("truncating", &path))?;
        self.file.reset();
        Ok(())
    }

    /// Verifies size and digest, then makes the blob durable and visible.
    pub fn commit(self) -> Result<(), StoreError> {
        self.commit_new().map(|_| ())
    }

    // ANCHOR: commit
    // ANCHOR: commit_check
    /// [`BlobWriter::commit`], returning the digest (the one thing a
    /// [`Store::new_blob_writer`] learns only now).
    pub fn commit_new(self) -> Result<Digest, StoreError> {
        let BlobWriter {
            file,
            expected,
            expected_size,
            blobs_dir,
        } = self;
        let (mut file, actual, size) = file.finish();
        if let Some(expected_size) = expected_size {
            if size != expected_size {
                return Err(StoreError::SizeMismatch {
                    digest: expected.unwrap_or(actual),
                    expected: expected_size,
                    actual: size,
                });
            }
        }
        if let Some(expected) = expected {
            if actual != expected {
                // `file` is dropped here: the temp file goes, nothing was renamed.
                return Err(StoreError::DigestMismatch { expected, actual });
            }
        }
        // ANCHOR_END: commit_check
        // ANCHOR: commit_rename
        let target = blobs_dir.join(actual.hex());
        let tmp = file.path().to_path_buf();
        file.flush().map_err(StoreError::io("writing", &tmp))?;
        // Blobs never change: read-only for everyone, owner included.
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o444))
            .map_err(StoreError::io("chmod", &tmp))?;
        // fsync before rename: after a crash the name never points at missing data.
        file.as_file()
            .sync_all()
            .map_err(StoreError::io("fsync of", &tmp))?;
        // rename(2) is atomic: readers see no blob or the whole blob. A racing
        // writer of the same blob renames identical bytes over it.
        file.persist(&target)
            .map_err(|e| StoreError::io("renaming a blob to", &target)(e.error))?;
        sync_dir(&blobs_dir)?;
        Ok(actual)
    }
    // ANCHOR_END: commit_rename
    // ANCHOR_END: commit
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(expected) = self.expected_size {
            let actual = self.file.bytes() + buf.len() as u64;
            if actual > expected {
                // Stop a stream that is longer than its descriptor said now,
                // not after it has filled the disk.
                return Err(std::io::Error::other(TooBig { expected, actual }));
            }
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
