//! The minibox engine: the library the `minibox` command line calls.
//!
//! Every operation a user types (`run`, `ps`, `logs`, `exec`, `stop`, `rm`,
//! `commit`, …) is a function of [`engine::Engine`], so that a Docker-API
//! daemon could later serve the very same operations over a unix socket.
//! The engine composes the chapters: images and the store (05), pull and
//! push (06), the overlay root filesystem (04), the security defaults (07)
//! written into an OCI bundle, and the OCI runtime (08) driven by one shim
//! process per container.

pub mod engine;

pub use engine::error::EngineError;
pub use engine::Engine;
