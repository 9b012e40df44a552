//! Chapter 06 — the registry is just HTTP: pull and push over the OCI
//! distribution API.
//!
//! `docker pull` is a handful of HTTP requests: a ping, a 401 with a
//! challenge, a token, a manifest (maybe an index first), then blobs
//! addressed by digest. This library makes each of them visible
//! (`--trace-http`, `--curl`) and gets them right the way real clients must:
//! authentication, platforms, retries, resumed downloads, verification —
//! into chapter 05's store.
//!
//! Read it in the order of a pull: [`transport`] (one HTTP exchange, and
//! [`trace`]), [`challenge`] and [`auth`] (the 401 dance, with
//! [`credentials`]), [`client`] (one authorized, retried, redirected call,
//! with [`retry`]), [`manifest`], [`blob`], [`pull`] (with [`mirror`]);
//! then [`upload`] and [`push`].
//!
//! The engine pulls like this:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ch06_registry::pull::{pull, PullOptions};
//! use ch06_registry::{credentials, Client};
//!
//! let client = Client::new(&Default::default(), Default::default(), credentials::config_path().ok());
//! let store = ch05_images::Store::open("/var/lib/minibox".as_ref())?;
//! let reference = ch05_images::Reference::parse("busybox")?;
//! let pulled = pull(&client, &store, &reference, &PullOptions::default(), &|_event| {})?;
//! println!("{} is {}", reference, pulled.digest);
//! # Ok(())
//! # }
//! ```

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
