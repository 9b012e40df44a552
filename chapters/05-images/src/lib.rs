//! Chapter 05 — OCI images: a content-addressed store, verified digests, and
//! unpacking that cannot escape.
//!
//! An image is a few tar archives (layers), a JSON config and a JSON
//! manifest that names them all by sha256. This library is the engine's
//! image store: blobs addressed by digest, refs (`name:tag` → manifest),
//! and each layer unpacked once into a directory of its own that chapter 04
//! stacks with overlayfs.

pub mod compression;
pub mod digest;
pub mod error;
pub mod reference;
pub mod unpack;

pub use compression::Compression;
pub use digest::{Digest, DigestError, Sha256Reader, Sha256Writer};
