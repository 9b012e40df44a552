//! Chapter 06 — the registry is just HTTP: pull and push over the OCI
//! distribution API.
//!
//! `docker pull` is a handful of HTTP requests: a ping, a 401 with a
//! challenge, a token, a manifest (maybe an index first), then blobs
//! addressed by digest. This library makes each of them visible
//! (`--trace-http`, `--curl`) and gets them right the way real clients must:
//! authentication, platforms, retries, resumed downloads, verification —
//! into chapter 05's store.

pub mod auth;
pub mod blob;
pub mod challenge;
pub mod client;
pub mod credentials;
pub mod error;
pub mod manifest;
pub mod mirror;
pub mod pull;
pub mod push;
pub mod retry;
pub mod trace;
pub mod transport;
pub mod upload;

pub use client::{Client, Endpoint};
pub use error::RegistryError;
