//! Chapter 05 — OCI images: a content-addressed store, verified digests, and
//! unpacking that cannot escape.
//!
//! An image is a few tar archives (layers), a JSON config and a JSON
//! manifest that names them all by sha256. This library is the engine's
//! image store: blobs addressed by digest ([`store`]), names for images
//! ([`reference`](mod@reference), kept in the store's refs), the manifest for this machine
//! ([`platform`], [`media`]), and each layer unpacked once into a directory
//! of its own ([`unpack`]) that chapter 04 stacks with overlayfs. Images get
//! in without a registry through [`import`] and out through [`export`];
//! [`inspect`] and [`run`] read what their config says.

pub mod compression;
pub mod digest;
pub mod error;
pub mod export;
pub mod import;
pub mod inspect;
pub mod media;
pub mod platform;
pub mod reference;
pub mod run;
pub mod store;
pub mod unpack;

pub use compression::Compression;
pub use digest::{Digest, DigestError, Sha256Reader, Sha256Writer};
pub use error::StoreError;
pub use platform::Platform;
pub use reference::Reference;
pub use store::{Image, Store};
