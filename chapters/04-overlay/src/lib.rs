//! Chapter 04 — copy-on-write layers with overlayfs: one image, many containers.
//!
//! The pieces: the mount options and their one-page limit ([`options`]), the
//! mount itself ([`mount`]), the container's own directories ([`state`]), how
//! deletions are recorded ([`whiteout`]), and reading the changes back as a
//! `docker diff` ([`diff`], over the lower view in [`lower`]). Chapter 03's
//! cgroups plug into the same container through [`limits`]. The whole
//! lifecycle of one container — state directory, mount plan, cgroup, start,
//! teardown in the right order — is [`OverlayContainer`] ([`container`]).

pub mod container;
pub mod diff;
pub mod error;
pub mod hooks;
pub mod limits;
pub mod lower;
pub mod mount;
pub mod mountinfo;
pub mod options;
pub mod state;
pub mod usage;
pub mod whiteout;

pub use container::OverlayContainer;
pub use diff::{diff, Change, ChangeKind};
pub use error::OverlayError;
pub use hooks::OverlayRootfs;
pub use mount::{mount_overlay, unmount_overlay};
pub use options::{MountPlan, PathForm};
pub use state::StateDir;
pub use whiteout::XattrNamespace;
