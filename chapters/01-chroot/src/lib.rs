//! Chapter 01 — chroot(2), and why it is not a jail.
//!
//! The library the `ch01-chroot` demo runs, and the small pieces every later
//! chapter reuses: narration, trainer-mode pauses, the parent/child plumbing
//! (a report pipe and a gate), shell-style exit codes, and the busybox root
//! filesystem that every chapter runs its commands in.

pub mod child_report;
pub mod chroot;
pub mod cli;
pub mod error;
pub mod escape;
pub mod forward;
pub mod gate;
pub mod interpreter;
pub mod narrate;
pub mod process;
pub mod rootfs;
pub mod trainer;

pub use chroot::{run, ChrootSpec};
pub use error::{ChrootError, RootfsError};
pub use narrate::{Narrator, Verbosity};
pub use process::Exit;
