//! Leftovers: cgroups whose supervisor was killed (`kill -9`) before it
//! could remove them.
//!
//! The container itself dies with its supervisor (chapter 02 sets
//! PR_SET_PDEATHSIG), but the cgroup directories stay: nobody is left to
//! rmdir them. A later run — or `minibox doctor --clean` — may remove such a
//! directory, but only if nobody uses it:
//!
//! - its **owner is gone**: a live supervisor holds an flock(2) on each of its
//!   cgroup directories (an open directory fd, LOCK_EX) for as long as it
//!   runs; the kernel drops the lock when the last process holding the fd
//!   dies, however it dies;
//! - **no process is inside** (`cgroup.procs` is empty) and it has no child
//!   cgroups.
//!
//! Creating a cgroup and taking its lock happen under a lock on the parent
//! directory, so a cleaner never sees a fresh cgroup before its owner locked it.

use crate::files;
use crate::layout::CgroupLayout;
use crate::placement::{DEFAULT_V1_PARENT, DEFAULT_V2_PARENT};
use nix::fcntl::{open, Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A directory held with flock(2) until dropped.
pub(crate) type DirLock = Flock<OwnedFd>;

// ANCHOR: lock
/// Takes an exclusive flock(2) on directory `dir`; `wait` blocks for it,
/// otherwise `Ok(None)` when someone else holds it.
pub(crate) fn lock_dir(dir: &Path, wait: bool) -> std::io::Result<Option<DirLock>> {
    // O_CLOEXEC: the container's command must not inherit (and so hold) the lock.
    let fd = open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let how = if wait {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockExclusiveNonblock
    };
    match Flock::lock(fd, how) {
        Ok(lock) => Ok(Some(lock)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(errno.into()),
    }
}
// ANCHOR_END: lock

/// Why a cgroup directory is not a leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InUse {
    /// A live supervisor holds its lock.
    Owned,
    /// Processes are inside.
    Processes(Vec<i32>),
    /// It has child cgroups.
    Children,
    /// It was made moments ago (by a program that does not take the lock, it
    /// may be about to move a process in).
    Young,
}

impl std::fmt::Display for InUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InUse::Owned => f.write_str("a running supervisor owns it"),
            InUse::Processes(pids) => write!(f, "PIDs {pids:?} are inside"),
            InUse::Children => f.write_str("it has child cgroups"),
            InUse::Young => f.write_str("it was created moments ago"),
        }
    }
}

/// How old a lock-free, empty cgroup must be before a sweep takes it for a
/// leftover (a run of a program that does not lock may be between its mkdir
/// and moving the container in).
pub const SWEEP_GRACE: Duration = Duration::from_secs(2);

/// Checks `dir` under its own lock (taken and released here): `Ok(())` if it
/// is a leftover nobody uses. `grace`: also refuse one younger than that.
pub fn check_unused(dir: &Path, grace: Option<Duration>) -> Result<(), InUse> {
    let Ok(Some(_lock)) = lock_dir(dir, false) else {
        return Err(InUse::Owned);
    };
    let procs = files::read_procs(dir);
    if !procs.is_empty() {
        return Err(InUse::Processes(procs));
    }
    if !child_cgroups(dir).is_empty() {
        return Err(InUse::Children);
    }
    if let Some(grace) = grace {
        let age = std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if !matches!(age, Some(age) if age >= grace) {
            return Err(InUse::Young);
        }
    }
    Ok(())
}

/// rmdir's `dir` if [`check_unused`] says it is a leftover; `Ok(true)` if removed.
pub fn remove_if_unused(dir: &Path, grace: Option<Duration>) -> Result<bool, InUse> {
    check_unused(dir, grace)?;
    // Still empty (nobody could join: a process joins only through its
    // owner, who would hold the lock). rmdir of an empty cgroup.
    Ok(std::fs::remove_dir(dir).is_ok())
}

/// The leftover container cgroups under the default parents (`minibox`),
/// anywhere in every hierarchy this host has: with the per-version
/// defaults, v1 nests them under the cgroup the supervisor ran in, which
/// differs from shell to shell.
pub fn find(layout: &CgroupLayout) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for parent in default_parents(layout) {
        for dir in child_cgroups(&parent) {
            if check_unused(&dir, Some(SWEEP_GRACE)).is_ok() {
                found.push(dir);
            }
        }
    }
    found
}

/// Every directory called `minibox` (the default parent) in every hierarchy.
pub fn default_parents(layout: &CgroupLayout) -> Vec<PathBuf> {
    let name = DEFAULT_V1_PARENT;
    debug_assert_eq!(DEFAULT_V2_PARENT.trim_start_matches('/'), name);
    let mut roots: Vec<PathBuf> = layout
        .v1
        .iter()
        .filter(|h| !h.controllers.is_empty())
        .map(|h| h.mount_point.clone())
        .collect();
    roots.extend(layout.v2.iter().map(|v2| v2.mount_point.clone()));
    let mut parents = Vec::new();
    for root in roots {
        find_named(&root, name, 6, &mut parents);
    }
    parents
}

fn find_named(dir: &Path, name: &str, depth: u32, out: &mut Vec<PathBuf>) {
    for child in child_cgroups(dir) {
        if child.file_name().is_some_and(|n| n == name) {
            out.push(child);
        } else if depth > 0 {
            find_named(&child, name, depth - 1, out);
        }
    }
}

/// The child cgroups of `dir` (its subdirectories).
fn child_cgroups(dir: &Path) -> Vec<PathBuf> {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    children
}

/// Removes the leftovers [`find`] sees, saying so; returns what it removed.
pub fn sweep(layout: &CgroupLayout, narrator: &ch01_chroot::Narrator) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for dir in find(layout) {
        if remove_if_unused(&dir, Some(SWEEP_GRACE)) == Ok(true) {
            narrator.step(&format!(
                "removed {}: a cgroup left behind by a run that was killed (no owner, no process inside)",
                dir.display()
            ));
            removed.push(dir);
        }
    }
    removed
}
