//! The container's root filesystem: chapter 04's overlay of the store's
//! layer directories, mounted on the host at `bundle/rootfs` — where
//! containerd's snapshotter puts it — while the container runs.

use super::containers::Paths;
use super::error::{EngineError, Result};
use ch04_overlay::{MountPlan, PathForm, StateDir, XattrNamespace};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Chapter 04's mount plan, saved at create so every start mounts the same
/// upper directory (the container keeps its changes across restarts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub lowers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub options: String,
    /// Set when the options use short links relative to this directory.
    pub short_links_base: Option<PathBuf>,
    pub user_xattrs: bool,
}

impl SavedPlan {
    fn plan(&self) -> MountPlan {
        MountPlan {
            lowers: self.lowers.clone(),
            upper: self.upper.clone(),
            work: self.work.clone(),
            options: self.options.clone(),
            form: match &self.short_links_base {
                Some(base) => PathForm::ShortLinks { base: base.clone() },
                None => PathForm::Absolute,
            },
            xattrs: self.xattrs(),
            absolute_len: self.options.len(),
        }
    }

    pub fn xattrs(&self) -> XattrNamespace {
        if self.user_xattrs {
            XattrNamespace::User
        } else {
            XattrNamespace::Trusted
        }
    }
}

fn plan_file(paths: &Paths) -> PathBuf {
    paths.dir.join("overlay.json")
}

// ANCHOR: prepare
/// At create: chapter 04's state directory (upper/, work/, short links) and
/// its mount plan over `layers` (top first).
pub fn prepare(paths: &Paths, layers: &[PathBuf], xattrs: XattrNamespace) -> Result<SavedPlan> {
    let mut state = StateDir::create(&paths.dir, "overlay-")?;
    let plan = MountPlan::prepare(layers, &state, xattrs)?;
    // The container owns it now; `rm` removes it with the container's directory.
    state.keep();
    let saved = SavedPlan {
        lowers: plan.lowers.clone(),
        upper: plan.upper.clone(),
        work: plan.work.clone(),
        options: plan.options.clone(),
        short_links_base: match &plan.form {
            PathForm::ShortLinks { base } => Some(base.clone()),
            PathForm::Absolute => None,
        },
        user_xattrs: xattrs == XattrNamespace::User,
    };
    std::fs::create_dir_all(paths.rootfs()).map_err(EngineError::io("creating", paths.rootfs()))?;
    super::lock::write_json(&plan_file(paths), &saved)?;
    Ok(saved)
}
// ANCHOR_END: prepare

pub fn load(paths: &Paths) -> Result<SavedPlan> {
    super::lock::read_json(&plan_file(paths))
}

// ANCHOR: mount
/// mount(2) of the overlay on `bundle/rootfs` (a no-op if mounted already).
pub fn mount(paths: &Paths) -> Result<()> {
    let target = paths.rootfs();
    if is_mounted(&target) {
        return Ok(());
    }
    ch04_overlay::mount_overlay(&load(paths)?.plan(), &target)?;
    Ok(())
}
// ANCHOR_END: mount

/// umount2(MNT_DETACH) if mounted.
pub fn unmount(paths: &Paths) -> Result<()> {
    let target = paths.rootfs();
    if is_mounted(&target) {
        ch04_overlay::unmount_overlay(&target)?;
    }
    Ok(())
}

pub fn is_mounted(target: &Path) -> bool {
    ch04_overlay::mountinfo::is_mount_point(target).unwrap_or(false)
}
