//! Cleanup: a cgroup is removed with rmdir(2), and only when empty.
//!
//! Never `rm -r` in cgroupfs: the control files cannot be deleted, and
//! rmdir of the directory removes them with it. rmdir fails with EBUSY
//! while a process is still inside — and for a moment after the last one
//! exited, until the kernel finished tearing it down — so we retry briefly.

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long rmdir may keep answering EBUSY after the group is empty.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

impl Cgroup {
    // ANCHOR: remove
    /// Kills anything left inside, then removes the container's directories
    /// and the default parent if no other container uses it.
    pub fn remove(mut self) -> Result<(), CgroupError> {
        self.remove_now()
    }
    // ANCHOR_END: remove

    fn remove_now(&mut self) -> Result<(), CgroupError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let mut first_error = None;
        if !self.procs().is_empty() {
            self.narrator
                .step("processes are still inside the cgroup: killing them first");
            if let Err(err) = self.kill_and_wait(BUSY_TIMEOUT) {
                first_error.get_or_insert(err);
            }
        }
        // Deepest first: the container's directories, then parents we made.
        let container_dirs: Vec<_> = self.dirs.iter().map(|d| d.path.clone()).collect();
        for dir in &container_dirs {
            if let Err(err) = rmdir_when_empty(dir) {
                first_error.get_or_insert(err);
            } else {
                self.narrator.syscall(
                    &format!("rmdir {}", dir.display()),
                    "the cgroup is empty: remove it",
                );
            }
        }
        let mut parents: Vec<_> = self
            .created
            .iter()
            .filter(|p| !container_dirs.contains(p))
            .cloned()
            .collect();
        parents.extend(self.prune.iter().cloned());
        // Longest paths first, so children go before their parents.
        parents.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        parents.dedup();
        for parent in parents {
            // Another container may still live there: then it stays.
            if std::fs::remove_dir(&parent).is_ok() {
                self.narrator.syscall(
                    &format!("rmdir {}", parent.display()),
                    "the parent is empty too",
                );
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// rmdir, retrying on EBUSY for a moment; a directory already gone is fine.
fn rmdir_when_empty(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err)
                if err.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(source) => {
                let left = crate::files::read_procs(dir);
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    hint: if left.is_empty() {
                        format!("it may have child cgroups: look with `find {} -type d`, and rmdir them first", dir.display())
                    } else {
                        format!("PIDs {left:?} are still inside: kill them (`cat {}/cgroup.procs`), then rmdir it", dir.display())
                    },
                    source,
                });
            }
        }
    }
}

impl Drop for Cgroup {
    /// The guard: whatever path we leave by, the cgroup goes with us.
    fn drop(&mut self) {
        if let Err(err) = self.remove_now() {
            self.narrator
                .warn(&format!("cleaning up the cgroup: {err}"));
        }
    }
}
