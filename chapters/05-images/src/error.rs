//! The ways chapter 05 can fail, each with what to do about it.

use crate::digest::Digest;
pub use crate::digest::DigestError;
use crate::media::MediaError;
use crate::platform::PlatformError;
use crate::reference::{Reference, ReferenceError};
use std::path::PathBuf;

/// What went wrong in the image store (and in importing, exporting, running from it).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The cause is not repeated here: it is the error's source, and an
    // error chain printer ({:#}, anyhow) prints it after a colon.
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Digest(#[from] DigestError),

    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error(transparent)]
    Media(#[from] MediaError),

    #[error(transparent)]
    Platform(#[from] PlatformError),

    #[error("blob {expected} does not match its digest: its bytes hash to {actual} — the copy is corrupt or was tampered with; fetch it again")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("blob {digest} should be {expected} bytes but {actual} arrived — the transfer was cut short or the descriptor is wrong")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },

    #[error("{what} {digest} is over the {cap}-byte limit for such documents: refusing to read it (a real one is a few KiB)")]
    TooLarge {
        what: &'static str,
        digest: Digest,
        cap: u64,
    },

    #[error("{what} {digest} is not in the store: import or pull the image again")]
    MissingBlob { what: String, digest: Digest },

    #[error("{what} {digest} is not valid JSON of its kind")]
    BadJson {
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },

    #[error("image {image}: the manifest lists {layers} layer(s) but the config's rootfs.diff_ids has {diff_ids}: the image is malformed")]
    LayerCount {
        image: String,
        layers: usize,
        diff_ids: usize,
    },

    #[error("image {image}, layer {index} ({digest}): the uncompressed tar hashes to {actual}, but the config says its DiffID is {expected} — the config does not describe this layer; refusing it")]
    DiffIdMismatch {
        image: String,
        index: usize,
        digest: Digest,
        expected: Digest,
        actual: Digest,
    },

    #[error("image {image}, layer {index} ({digest})")]
    Unpack {
        image: String,
        index: usize,
        digest: Digest,
        #[source]
        source: crate::unpack::UnpackError,
    },

    #[error(
        "no image {0} in the store: `ch05-images ls` lists what is there; import or pull it first"
    )]
    UnknownImage(String),

    #[error("{0}")]
    Import(String),

    #[error("the store at {0} is not ours to write: run as root, or pass --root DIR for a store of your own")]
    NotWritable(PathBuf),
}

impl StoreError {
    /// Wraps an I/O error with what we were doing and to which path.
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { what, path, source }
    }

    /// Wraps an errno from a nix call like an I/O error.
    pub(crate) fn errno(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(nix::errno::Errno) -> StoreError {
        let path = path.into();
        move |errno| StoreError::Io {
            what,
            path,
            source: errno.into(),
        }
    }

    /// Which exit code a demo binary ends with (chapter 01's convention).
    pub fn exit_code(&self) -> i32 {
        ch01_chroot::process::exit_code::TOOL_FAILED
    }

    pub(crate) fn unknown(reference: &Reference) -> StoreError {
        StoreError::UnknownImage(reference.to_string())
    }
}
