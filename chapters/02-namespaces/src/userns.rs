//! The user namespace handshake.
//!
//! A child cloned with CLONE_NEWUSER starts as "nobody" (65534) in its new
//! namespace: no ID inside is mapped to any ID outside yet. Only a process
//! *outside* (here: the parent, which holds CAP_SETUID on the host) may write
//! the child's uid_map and gid_map, and it may do so only once. So the child
//! waits at a gate while the parent writes; then it becomes root inside.

use crate::error::NamespaceError;
use crate::spec::IdMapping;
use nix::errno::Errno;
use nix::unistd::{setresgid, setresuid, Gid, Pid, Uid};
use std::path::PathBuf;

// ANCHOR: write_id_maps
/// PARENT side: map the child's IDs. Since Linux 3.19 a writer *without*
/// CAP_SETGID over the parent namespace may write gid_map only after "deny"
/// went into setgroups (otherwise an unprivileged user could drop a group
/// that *forbids* it access). Root holds CAP_SETGID and needs no such
/// promise — and must not make it: "deny" forbids setgroups(2) inside for
/// good, so the container's command could never get its supplementary
/// groups (chapter 07's `--group-add`).
pub fn write_id_maps(
    child: Pid,
    uid_map: &[IdMapping],
    gid_map: &[IdMapping],
) -> Result<(), NamespaceError> {
    write_proc_file(child, "uid_map", &map_text(uid_map))?;
    if !nix::unistd::geteuid().is_root() {
        write_proc_file(child, "setgroups", "deny")?;
    }
    write_proc_file(child, "gid_map", &map_text(gid_map))?;
    Ok(())
}
// ANCHOR_END: write_id_maps

fn map_text(map: &[IdMapping]) -> String {
    map.iter().map(IdMapping::to_map_line).collect()
}

fn write_proc_file(child: Pid, file: &str, text: &str) -> Result<(), NamespaceError> {
    let path = PathBuf::from(format!("/proc/{child}/{file}"));
    // One write(2) call: the kernel parses the whole map at once and refuses a second write.
    std::fs::write(&path, text).map_err(|source| NamespaceError::IdMap { path, source })
}

// ANCHOR: become_root
/// CHILD side, once the maps exist: become root *of the namespace*. Until
/// now we kept the host's IDs, which are unmapped here; an execve by an
/// unmapped, non-root user would drop every capability the namespace gave us.
pub fn become_root_in_namespace() -> Result<(), Errno> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))?;
    // Changing IDs made us "non-dumpable": our /proc/self files now belong to
    // the host's root, and we could not even write /proc/self/timens_offsets.
    nix::sys::prctl::set_dumpable(true)
}
// ANCHOR_END: become_root

/// True if `gid` (inside) is covered by the map.
pub fn maps_id(map: &[IdMapping], id: u32) -> bool {
    map.iter()
        .any(|m| id >= m.container_id && id - m.container_id < m.count)
}
