//! Readable process names, so that `ps axf` tells the story.
//!
//! Our init is a clone of the ch02 binary, so `ps` would show the parent's
//! command line twice. `ps` reads two things: the *comm* (16 bytes in the
//! kernel, set with prctl(PR_SET_NAME)) and the *cmdline*, which is the
//! process's own argv memory, read by the kernel from our address space.
//! runc re-execs itself as `runc init` to get a fresh argv; a library cannot
//! ask its caller's main() to cooperate, so we overwrite the argv area in
//! place, as PostgreSQL's and OpenSSH's setproctitle() do. (prctl(PR_SET_MM_ARG_START)
//! would move it instead, but needs CAP_SYS_RESOURCE.)

use std::ffi::CString;

// ANCHOR: proctitle
/// Sets both names; best effort, since a name is a convenience, not a
/// requirement.
pub fn set_process_title(comm: &str, title: &str) {
    if let Ok(name) = CString::new(comm) {
        // The kernel keeps the first 15 bytes.
        let _ = nix::sys::prctl::set_name(&name);
    }
    let _ = overwrite_argv(title);
}

/// Writes `title` over the argv strings, NUL-padded, never past their end.
fn overwrite_argv(title: &str) -> Option<()> {
    // Fields 48 and 49 of /proc/self/stat: where argv starts and ends in memory.
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The comm field (2nd) may contain spaces: count fields after its ')'.
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split(' ').collect();
    let start: usize = fields.get(48 - 3)?.parse().ok()?;
    let end: usize = fields.get(49 - 3)?.parse().ok()?;
    let len = end.checked_sub(start)?;
    if len == 0 {
        return None;
    }
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // Safety: [start, end) is this process's argv area, mapped and writable
    // (it lives at the top of the main stack). We write inside it only, and
    // nothing in this process reads argv afterwards.
    unsafe {
        let area = std::slice::from_raw_parts_mut(start as *mut u8, len);
        area[..n].copy_from_slice(&bytes[..n]);
        area[n..].fill(0);
    }
    Some(())
}
// ANCHOR_END: proctitle
