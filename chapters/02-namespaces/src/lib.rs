//! Chapter 02 — Linux's jail: eight namespaces, pivot_root done right, and a real PID 1.
//!
//! The library every later chapter and the engine run containers with.
//! [`spawn`] clones a child into new namespaces, maps its user IDs while it
//! waits at a gate, lets [`Hooks`] join a cgroup (chapter 03) or mount an
//! overlay (chapter 04), pivots into the root filesystem, and runs a small
//! init as PID 1 that starts the command, forwards signals and reaps zombies.

mod child;
pub mod container;
pub mod dev;
pub mod error;
pub mod gate;
pub mod hooks;
pub mod init;
pub mod inroot;
pub mod join;
pub mod mount;
mod mount_points;
pub mod net;
pub mod pivot;
pub mod proctitle;
pub mod single_thread;
pub mod spec;
pub mod timens;
pub mod userns;

pub use container::{run, spawn, Container};
pub use error::NamespaceError;
pub use hooks::{HookError, Hooks, NoHooks};
pub use spec::{ContainerSpec, IdMapping, Namespaces};
