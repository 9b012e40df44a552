//! How a layer's tar stream is compressed, as its media type says.

/// The three compressions the OCI image spec names for layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `…tar` — a plain tar stream.
    None,
    /// `…tar+gzip` (and Docker's `…tar.gzip`).
    Gzip,
    /// `…tar+zstd`.
    Zstd,
}
