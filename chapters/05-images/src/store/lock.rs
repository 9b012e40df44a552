//! The store-wide lock: shared by every user, exclusive for gc.
//!
//! flock(2) locks belong to an open file and vanish when the process dies —
//! also by kill -9 — so a crashed import can never leave the store locked.

use crate::error::StoreError;
use ch01_chroot::Narrator;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) struct StoreLock {
    file: Flock<File>,
    path: PathBuf,
}

pub(crate) fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(StoreError::io("opening the lock file", path))
}

/// Takes `arg` on `file`, saying so first if someone else holds it.
pub(crate) fn lock_waiting(
    file: File,
    path: &Path,
    exclusive: bool,
    who: &str,
    narrator: &Narrator,
) -> Result<Flock<File>, StoreError> {
    let (now, wait) = if exclusive {
        (FlockArg::LockExclusiveNonblock, FlockArg::LockExclusive)
    } else {
        (FlockArg::LockSharedNonblock, FlockArg::LockShared)
    };
    match Flock::lock(file, now) {
        Ok(locked) => Ok(locked),
        Err((file, Errno::EWOULDBLOCK)) => {
            narrator.step(&format!("waiting for {who} (flock {})", path.display()));
            Flock::lock(file, wait).map_err(|(_, errno)| StoreError::errno("flock", path)(errno))
        }
        Err((_, errno)) => Err(StoreError::errno("flock", path)(errno)),
    }
}

impl StoreLock {
    /// flock(LOCK_SH): many imports, pulls and runs at once; no gc meanwhile.
    pub(crate) fn shared(path: &Path, narrator: &Narrator) -> Result<StoreLock, StoreError> {
        let file = open_lock_file(path)?;
        let file = lock_waiting(
            file,
            path,
            false,
            "a garbage collection to finish",
            narrator,
        )?;
        Ok(StoreLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Tries to turn our shared lock into an exclusive one without waiting.
    pub(crate) fn try_exclusive(&self) -> Result<bool, StoreError> {
        match self.file.relock(FlockArg::LockExclusiveNonblock) {
            Ok(()) => Ok(true),
            // A failed conversion has already dropped the shared lock
            // (fs/locks.c removes the old lock first): take it again.
            Err(Errno::EWOULDBLOCK) => self.back_to_shared().map(|()| false),
            Err(errno) => Err(StoreError::errno("flock", &self.path)(errno)),
        }
    }

    /// Waits until every other user of the store is gone (for gc).
    pub(crate) fn exclusive(&self, narrator: &Narrator) -> Result<(), StoreError> {
        if self.try_exclusive()? {
            return Ok(());
        }
        narrator.step(&format!(
            "waiting for the store's other users (imports, pulls, running containers) to finish (flock {})",
            self.path.display()
        ));
        // Converting a flock(2) lock first drops the old one: two processes
        // upgrading at once cannot deadlock.
        self.file
            .relock(FlockArg::LockExclusive)
            .map_err(StoreError::errno("flock", &self.path))
    }

    pub(crate) fn back_to_shared(&self) -> Result<(), StoreError> {
        self.file
            .relock(FlockArg::LockShared)
            .map_err(StoreError::errno("flock", &self.path))
    }
}
