//! Chapter 03 — cgroups: limits, accounting and control.
//!
//! Namespaces (chapter 02) decide what a container can *see*; cgroups decide
//! how much it can *use*. This library makes a container's cgroup on any of
//! the three layouts a host may have (pure v2, v1, hybrid), writes its
//! limits, moves the container in before it runs, reads what the kernel
//! counted, freezes, thaws and kills the group, tells an OOM kill from any
//! other SIGKILL, and removes the cgroup when the last process is gone.

pub mod cgroup;
pub mod cli;
pub mod control;
pub mod devices;
pub mod error;
pub mod files;
pub mod handle;
pub mod hook;
pub mod layout;
pub mod limits;
pub mod oom;
pub mod placement;
pub mod remove;
pub mod stale;
pub mod stats;
mod v1;
mod v2;

pub use cgroup::{Cgroup, CgroupDir, Version};
pub use error::CgroupError;
pub use handle::CgroupHandle;
pub use hook::JoinCgroup;
pub use layout::{CgroupLayout, LayoutKind};
pub use limits::{format_bytes, parse_size, Limits};
pub use oom::OomVerdict;
pub use placement::Placement;
pub use stats::Stats;
