//! Chapter 03 — cgroups: limits, accounting and control.

pub mod layout;

pub use layout::{CgroupLayout, LayoutKind};
