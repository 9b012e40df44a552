//! The container's own directories on the host: its writable layer and friends.
//!
//! ```text
//! /tmp/ch04-overlay-XXXX/
//! ├── upper/    the container's writable layer: every change it makes lands here
//! ├── work/     overlayfs's scratch space (copy-up staging); must share upper's filesystem
//! ├── merged/   where the overlay is mounted, inside the container's mount namespace only
//! └── l/        short names for the lower layers: l/0 -> /the/top/layer, … (see `options`)
//! ```
//!
//! The read-only layers are *not* here: they are shared by every container
//! started from them. Only this directory is per-container.

use crate::error::OverlayError;
use crate::mountinfo::is_mount_point;
use nix::unistd::{chown, Gid, Uid};
use std::fs;
use std::path::{Path, PathBuf};

/// A container's state directory, removed on drop unless kept.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    keep: bool,
}

impl StateDir {
    /// Creates a fresh state directory `<parent>/<prefix>XXXXXX` with
    /// `upper/`, `work/` and `merged/` in it.
    pub fn create(parent: &Path, prefix: &str) -> Result<StateDir, OverlayError> {
        fs::create_dir_all(parent).map_err(OverlayError::io("creating", parent))?;
        let path = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .map_err(OverlayError::io("creating a state directory in", parent))?
            .keep();
        let state = StateDir { path, keep: false };
        for dir in [state.upper(), state.work(), state.merged(), state.links()] {
            fs::create_dir(&dir).map_err(OverlayError::io("creating", &dir))?;
        }
        Ok(state)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container's writable layer.
    pub fn upper(&self) -> PathBuf {
        self.path.join("upper")
    }

    /// overlayfs's work directory.
    pub fn work(&self) -> PathBuf {
        self.path.join("work")
    }

    /// The mount point of the overlay.
    pub fn merged(&self) -> PathBuf {
        self.path.join("merged")
    }

    /// The directory of short links to the lower layers.
    pub fn links(&self) -> PathBuf {
        self.path.join("l")
    }

    /// Gives the state directory to the container's root user (`uid`/`gid` on
    /// the host), for containers in a user namespace.
    ///
    /// Root inside a user namespace is an ordinary user on the host: it can
    /// only write into upper/ and work/ (and reach merged/) if it owns them.
    pub fn hand_over(&self, uid: u32, gid: u32) -> Result<(), OverlayError> {
        let owner = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        for dir in [
            self.path.clone(),
            self.upper(),
            self.work(),
            self.merged(),
            self.links(),
        ] {
            chown(&dir, owner.0, owner.1).map_err(|errno| OverlayError::Io {
                what: "chown",
                path: dir.clone(),
                source: errno.into(),
            })?;
        }
        Ok(())
    }

    /// Keeps the directory on drop (`--keep`): the upper layer stays for inspection.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Deletes the state directory now and says why if it cannot.
    ///
    /// Refuses while `merged/` is still a mount point in *our* mount namespace:
    /// deleting through a live overlay would not free anything and would fill
    /// upper/ with whiteouts.
    pub fn remove(mut self) -> Result<(), OverlayError> {
        self.keep = true; // whatever happens below, Drop must not try again
        remove_state_dir(&self.path)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if !self.keep {
            // Drop cannot report: callers who care call `remove` and see the error.
            let _ = remove_state_dir(&self.path);
        }
    }
}

fn remove_state_dir(path: &Path) -> Result<(), OverlayError> {
    let merged = path.join("merged");
    if is_mount_point(&merged)? {
        return Err(OverlayError::StillMounted(merged));
    }
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OverlayError::io("removing", path)(e)),
    }
}
