//! The container's own directories on the host: its writable layer and friends.
//!
//! ```text
//! /tmp/ch04-overlay-XXXX/
//! ├── upper/    the container's writable layer: every change it makes lands here
//! ├── work/     overlayfs's scratch space (copy-up staging); must share upper's filesystem
//! ├── merged/   where the overlay is mounted, inside the container's mount namespace only
//! ├── l/        short names for the lower layers: l/0 -> /the/top/layer, … (see `options`)
//! └── owner     "PID STARTTIME" of the supervisor that made it (not with --keep)
//! ```
//!
//! A supervisor killed with `kill -9` cannot remove its state directory. The
//! `owner` file lets a later run (or `minibox doctor --clean`) tell such a
//! leftover from the directory of a container that still runs: the owner is
//! dead, or its PID now belongs to a process that started at another time.
//!
//! The read-only layers are *not* here: they are shared by every container
//! started from them. Only this directory is per-container.

use crate::error::OverlayError;
use crate::mountinfo::is_mount_point;
use ch01_chroot::process::start_time;
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
        StateDir::fill(StateDir { path, keep: false })
    }

    /// Creates the state directory `<parent>/<id>` — a name the caller
    /// knows, so a later process can [`StateDir::open`] it again — with
    /// `upper/`, `work/` and `merged/` in it. Refuses an id that is not a
    /// plain file name, or whose directory exists already.
    pub fn create_named(parent: &Path, id: &str) -> Result<StateDir, OverlayError> {
        check_id(id)?;
        fs::create_dir_all(parent).map_err(OverlayError::io("creating", parent))?;
        let path = parent.join(id);
        // create_dir, not create_dir_all: two containers never share one.
        fs::create_dir(&path).map_err(OverlayError::io("creating the state directory", &path))?;
        StateDir::fill(StateDir { path, keep: false })
    }

    /// Reopens the state directory `<parent>/<id>` made earlier, maybe by
    /// another process. The handle does not own it: dropping it removes
    /// nothing (call [`StateDir::remove`] to delete it).
    pub fn open(parent: &Path, id: &str) -> Result<StateDir, OverlayError> {
        check_id(id)?;
        let path = parent.join(id);
        for dir in [path.join("upper"), path.join("work"), path.join("merged")] {
            if !dir.is_dir() {
                return Err(OverlayError::NotAStateDir(path));
            }
        }
        Ok(StateDir { path, keep: true })
    }

    /// The owner file first, then the directories.
    fn fill(state: StateDir) -> Result<StateDir, OverlayError> {
        // First the owner: from now on a cleaner can tell this directory is in use.
        let me = nix::unistd::getpid();
        let owner = format!("{me} {}\n", start_time(me).unwrap_or(0));
        fs::write(state.owner_file(), owner)
            .map_err(OverlayError::io("writing", state.owner_file()))?;
        for dir in [state.upper(), state.work(), state.merged(), state.links()] {
            fs::create_dir(&dir).map_err(OverlayError::io("creating", &dir))?;
        }
        Ok(state)
    }

    fn owner_file(&self) -> PathBuf {
        self.path.join(OWNER)
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

    /// Keeps the directory on drop (`--keep`): the upper layer stays for
    /// inspection, and is no leftover to sweep (its owner file goes).
    pub fn keep(&mut self) {
        self.keep = true;
        let _ = fs::remove_file(self.owner_file());
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

/// A state directory's id: one plain file name, nothing that climbs out of the parent.
fn check_id(id: &str) -> Result<(), OverlayError> {
    let plain = !id.is_empty()
        && id != "."
        && id != ".."
        && !id.contains('/')
        && !id.contains('\0')
        && id.len() <= 255;
    if plain {
        Ok(())
    } else {
        Err(OverlayError::BadStateId(id.to_string()))
    }
}

/// The file in a state directory that names its owner.
const OWNER: &str = "owner";

// ANCHOR: stale
/// True if `dir` is a state directory whose owner is gone: its `owner` file
/// names a PID that no longer runs, or runs a process that started at
/// another time (the PID was reused). A directory without the file (kept
/// with --keep, or not ours) is never stale.
pub fn is_stale(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join(OWNER)) else {
        return false;
    };
    let mut words = text.split_whitespace().map(|w| w.parse::<u64>().ok());
    let (Some(Some(pid)), Some(Some(started))) = (words.next(), words.next()) else {
        return false;
    };
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    start_time(nix::unistd::Pid::from_raw(pid)) != Some(started)
}
// ANCHOR_END: stale

/// The stale state directories `parent/prefix*` (see [`is_stale`]).
pub fn find_stale(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut stale: Vec<PathBuf> = fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|dir| is_stale(dir))
        .collect();
    stale.sort();
    stale
}

/// Removes a stale state directory (refused while its merged/ is mounted here).
pub fn remove_stale(dir: &Path) -> Result<(), OverlayError> {
    if !is_stale(dir) {
        return Ok(());
    }
    remove_state_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_state_dir_can_be_reopened_and_the_handle_does_not_own_it() {
        let parent = tempfile::tempdir().unwrap();
        let made = StateDir::create_named(parent.path(), "web-1").unwrap();
        assert_eq!(made.path(), parent.path().join("web-1"));
        // A second container of the same id is refused, the first untouched.
        assert!(StateDir::create_named(parent.path(), "web-1").is_err());
        let reopened = StateDir::open(parent.path(), "web-1").unwrap();
        assert_eq!(reopened.upper(), made.upper());
        drop(reopened);
        assert!(
            made.upper().is_dir(),
            "dropping a reopened handle removed the directory"
        );
        drop(made);
        assert!(!parent.path().join("web-1").exists());
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(matches!(
                StateDir::create_named(parent.path(), bad),
                Err(OverlayError::BadStateId(_))
            ));
        }
        assert!(matches!(
            StateDir::open(parent.path(), "gone"),
            Err(OverlayError::NotAStateDir(_))
        ));
    }
}
