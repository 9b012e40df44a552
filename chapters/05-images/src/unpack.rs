//! Unpacking a layer into a directory of its own, so that nothing in the tar
//! can reach outside it. (Being written on its own branch; this is the agreed
//! contract, so the store builds against it until the real one is merged.)

use crate::compression::Compression;
use crate::digest::Digest;
use std::path::Path;

/// How path lookups inside the layer root are made safe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Resolver {
    #[default]
    Auto,
    Openat2,
    InRootWalk,
}

#[derive(Debug, Clone)]
pub struct UnpackOptions {
    pub whiteouts: ch04_overlay::XattrNamespace,
    pub max_uncompressed_bytes: Option<u64>,
    pub resolver: Resolver,
    pub same_owner: bool,
}

#[derive(Debug, Clone)]
pub struct Unpacked {
    pub digest: Digest,
    pub compressed_size: u64,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("unpacking layers is not merged yet")]
pub struct UnpackError;

pub fn unpack_layer(
    _blob: impl std::io::Read,
    _compression: Compression,
    _dest: &Path,
    _options: &UnpackOptions,
) -> Result<Unpacked, UnpackError> {
    Err(UnpackError)
}
