//! clone(2) and fork(2) copy only the calling thread. If another thread held
//! a lock (the allocator's, stdout's) at that instant, the child inherits
//! the lock held forever and hangs the first time it allocates. runc solves
//! this in C before Go starts its threads; we check, and refuse.

use crate::error::NamespaceError;

/// The number of threads of this process (`Threads:` in /proc/self/status).
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

// ANCHOR: single_threaded
/// An error unless this process has exactly one thread.
pub fn ensure_single_threaded() -> Result<(), NamespaceError> {
    match thread_count() {
        Some(1) | None => Ok(()),
        Some(threads) => Err(NamespaceError::MultiThreaded { threads }),
    }
}
// ANCHOR_END: single_threaded
