//! Chapter 08 — the OCI runtime: a bundle run by a runc-compatible CLI.
//!
//! A *bundle* is a directory with `config.json` and a root filesystem. The
//! runtime reads the config ([`config`]), builds the container from
//! chapter 02's namespaces and chapter 03's cgroups ([`container_hooks`]),
//! leaves it waiting at an exec FIFO (`create`), lets it run (`start`), and
//! finds it again from its state file for `state`, `kill`, `exec`, `pause`
//! and `delete` ([`lifecycle`], [`state`]). podman and containerd drive it
//! exactly as they drive runc.
//!
//! For an engine: [`Runtime::new`]`(root, log)`, then
//! [`Runtime::create`]`(id, bundle, &CreateOptions { pid_file, console_socket })`,
//! [`Runtime::start`], [`Runtime::state`], [`Runtime::kill`]`(id, signal, all)`,
//! [`Runtime::delete`]`(id, force)`, [`Runtime::freeze`], [`Runtime::pids`],
//! [`Runtime::exec`]`(id, process, &ExecOptions)`, [`Runtime::list`];
//! [`template::default_config`] as the base of a config.json, and the
//! annotation [`config::INIT_ANNOTATION`] for chapter 02's reaping init.
//! `create` and `exec` clone the calling process, which must be
//! single-threaded (chapter 02 checks): a multi-threaded engine runs the
//! `ch08-runtime` binary instead, from its shim, as containerd runs runc.

pub mod config;
pub mod container_hooks;
pub mod devices;
pub mod error;
pub mod exec;
pub mod forward;
pub mod hooks;
pub mod inroot;
pub mod lifecycle;
pub mod log;
pub mod mounts;
pub mod process;
pub mod recorder;
pub mod resources;
pub mod signal;
pub mod state;
pub mod sysctl;
pub mod template;
pub mod terminal;
pub mod time;

pub use error::RuntimeError;
pub use exec::{ExecOptions, ExecOutcome};
pub use lifecycle::{CreateOptions, Runtime};
pub use log::{LogFormat, RuntimeLog};
