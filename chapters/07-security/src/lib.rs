//! Chapter 07 — limited in what it may do: capabilities, seccomp,
//! no_new_privs, masked and read-only paths, devices, users, rlimits.
//!
//! Namespaces (chapter 02) decide what a container sees and cgroups
//! (chapter 03) how much it uses; root inside is still root, though, with
//! the kernel's whole interface in front of it. This library holds
//! everything that narrows that interface in one value, [`Restrictions`],
//! applied in the container's command process just before execve — the
//! value chapter 08 builds from an OCI config.json, and the engine uses.

pub mod capabilities;
pub mod cli;
pub mod devices;
pub mod error;
pub mod hooks;
pub mod paths;
pub mod restrictions;
pub mod rlimits;
pub mod sealed_exe;
pub mod seccomp;
pub mod seccomp_default;
pub mod user;

pub use capabilities::CapabilitySets;
pub use error::SecurityError;
pub use hooks::Restricted;
pub use restrictions::{Restrictions, SeccompChoice};
pub use rlimits::Rlimit;
pub use sealed_exe::ensure_sealed_exe;
pub use seccomp::Seccomp;
pub use user::User;
