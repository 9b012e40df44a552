//! Unpacking one layer into a directory of its own, so that nothing in the
//! tar can reach outside it.
//!
//! A layer is an untrusted tar. The `tar` crate is used only to *parse* it;
//! every name is made relative to the layer root ([`path`]), every parent is
//! found by fd inside the root ([`resolve`]), and every file, directory,
//! link and device is made with a `*at()` call relative to that parent
//! ([`entry`]). Whiteouts become what overlayfs reads ([`whiteout`]).
//! The blob is hashed twice while it streams ([`stream`]): its digest (the
//! compressed bytes, named in the manifest) and its DiffID (the tar, named in
//! the image config).

mod entry;
mod error;
mod metadata;
mod path;
mod resolve;
mod stream;
mod whiteout;
mod xattr;

pub use error::UnpackError;
pub use resolve::Resolver;

use crate::{Compression, Digest, Sha256Reader};
use ch04_overlay::XattrNamespace;
use entry::{Failure, Unpacker};
use std::io::{self, BufReader, Read};
use stream::{Decoder, Fault, Guard, STREAM_BUFFER};

/// How to unpack a layer.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Where opaque directories get their xattr: `trusted.overlay.opaque`
    /// as root, `user.overlay.opaque` for a `userxattr` overlay.
    pub whiteouts: XattrNamespace,
    /// Refuse a layer whose tar is larger than this (a small gzip can
    /// expand to terabytes). `None`: no cap.
    pub max_uncompressed_bytes: Option<u64>,
    /// openat2 or the in-root walk (Auto picks openat2 where it exists).
    pub resolver: Resolver,
    /// chown every entry to the uid/gid in the tar (what root wants; a
    /// non-root user cannot, and gets everything as its own).
    pub same_owner: bool,
}

/// The default cap on a layer's uncompressed size: 8 GiB.
pub const DEFAULT_MAX_UNCOMPRESSED_BYTES: u64 = 8 << 30;

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            whiteouts: XattrNamespace::Trusted,
            max_uncompressed_bytes: Some(DEFAULT_MAX_UNCOMPRESSED_BYTES),
            resolver: Resolver::Auto,
            same_owner: nix::unistd::geteuid().is_root(),
        }
    }
}

/// What one unpack read and made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// sha256 of the compressed bytes read: the layer's digest in the manifest.
    pub digest: Digest,
    pub compressed_size: u64,
    /// sha256 of the uncompressed tar: the layer's DiffID in the image config.
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    /// Tar entries unpacked (whiteouts included, PAX global headers not).
    pub entries: u64,
    /// Device nodes left out because we may not make them (user namespace).
    pub skipped_devices: u64,
    /// xattrs left out: overlay-private ones in the tar, or ones this
    /// filesystem or user cannot hold.
    pub skipped_xattrs: u64,
    /// Entries whose name climbed above the root with `..` and were kept inside.
    pub contained_paths: u64,
    /// The first few of the warnings above, as text naming the entry.
    pub notes: Vec<String>,
    /// True if paths were resolved with openat2, false for the in-root walk.
    pub used_openat2: bool,
}

/// Unpacks the layer `blob` (compressed as `compression`) into `dest`, an
/// existing empty directory, and returns both of its digests.
///
/// The caller compares `digest` and `diff_id` with the manifest and config
/// and throws `dest` away if they differ: bytes are written before the
/// end of the stream proves them right (a layer is read once, not twice).
pub fn unpack_layer(
    blob: impl Read,
    compression: Compression,
    dest: &std::path::Path,
    options: &UnpackOptions,
) -> Result<Unpacked, UnpackError> {
    let root = resolve::Root::open(dest, options.resolver)?;
    let mut unpacker = Unpacker::new(root, options);

    // ANCHOR: pipeline
    // blob → sha256 (digest) → buffer → decoder → cap → sha256 (DiffID) → tar
    let mut compressed = Sha256Reader::new(blob);
    let mut buffered = BufReader::with_capacity(STREAM_BUFFER, &mut compressed);
    let decoder =
        Decoder::new(compression, &mut buffered).map_err(|err| UnpackError::Decompress {
            compression,
            cause: err.to_string(),
        })?;
    let mut tar_stream = Guard::new(Sha256Reader::new(decoder), options.max_uncompressed_bytes);
    let mut archive = tar::Archive::new(BufReader::with_capacity(STREAM_BUFFER, &mut tar_stream));
    // ANCHOR_END: pipeline

    // ANCHOR: drain
    let outcome = unpack_entries(&mut archive, &mut unpacker).and_then(|()| {
        // The tar parser stops at the end-of-archive marker; whatever follows
        // (zero padding to a record size) is still part of the DiffID.
        let mut rest = archive.into_inner();
        io::copy(&mut rest, &mut io::sink())
            .map(drop)
            .map_err(Failure::Read)
    });
    if let Err(failure) = outcome {
        return Err(match failure {
            Failure::Refused(err) => err,
            Failure::Read(err) => classify(
                tar_stream.fault.clone(),
                err,
                compression,
                &unpacker,
                options,
            ),
        });
    }
    unpacker.finish()?;
    // ANCHOR_END: drain

    let (diff_id, uncompressed_size) = tar_stream.into_inner().finish();
    // Bytes after the compressed stream's end (none for valid gzip/zstd,
    // whose decoders read to EOF) still count toward the blob's digest.
    io::copy(&mut buffered, &mut io::sink()).map_err(|err| UnpackError::Decompress {
        compression,
        cause: err.to_string(),
    })?;
    drop(buffered);
    let (digest, compressed_size) = compressed.finish();
    Ok(Unpacked {
        digest,
        compressed_size,
        diff_id,
        uncompressed_size,
        entries: unpacker.entries,
        skipped_devices: unpacker.warnings.skipped_devices,
        skipped_xattrs: unpacker.warnings.skipped_xattrs,
        contained_paths: unpacker.warnings.contained_paths,
        used_openat2: unpacker.used_openat2(),
        notes: std::mem::take(&mut unpacker.warnings.notes),
    })
}

fn unpack_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    unpacker: &mut Unpacker<'_>,
) -> Result<(), Failure> {
    for entry in archive.entries().map_err(Failure::Read)? {
        let mut entry = entry.map_err(Failure::Read)?;
        unpacker.entry(&mut entry)?;
    }
    Ok(())
}

/// A read failed under the parser: was it the decoder, the cap, or the tar?
fn classify(
    fault: Option<Fault>,
    err: io::Error,
    compression: Compression,
    unpacker: &Unpacker<'_>,
    options: &UnpackOptions,
) -> UnpackError {
    match fault {
        Some(Fault::TooLarge) => UnpackError::TooLarge {
            limit: options.max_uncompressed_bytes.unwrap_or(u64::MAX),
        },
        Some(Fault::Decode(cause)) => UnpackError::Decompress { compression, cause },
        None => UnpackError::Malformed {
            after: unpacker.current(),
            cause: printable(&err.to_string()),
        },
    }
}

/// The tar crate quotes the bad bytes of a garbage header in its message:
/// keep what a terminal can show, and not too much of it.
fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(160)
        .collect();
    if text.chars().count() > 160 {
        out.push('…');
    }
    out
}
