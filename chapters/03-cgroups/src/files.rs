//! cgroups are files. Reading and writing them is the whole interface; these
//! helpers only add the error that names the file, and the narration line
//! that shows the learner exactly what was written where.

use crate::error::{hint_for_write, CgroupError};
use ch01_chroot::Narrator;
use std::path::Path;

/// Writes `value` into the cgroup file `dir/file`, and says so.
///
/// One `write(2)` per value: the kernel parses each write on its own, so a
/// value must never be split across writes (`std::fs::write` of a short
/// string is one write).
pub fn write(
    dir: &Path,
    file: &str,
    value: &str,
    why: &str,
    narrator: &Narrator,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|source| CgroupError::Write {
        hint: hint_for_write(file, &source),
        path: path.clone(),
        value: value.to_string(),
        source,
    })?;
    narrator.syscall(&format!("echo {value} > {}", path.display()), why);
    Ok(())
}

/// Reads a cgroup file as text.
pub fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A single number (`memory.current`, `pids.current`); `None` if the file is
/// absent (older kernel, controller not enabled) or says `max`.
pub fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// One key of a "flat keyed" file (`memory.events`, `cpu.stat`,
/// `memory.oom_control`): lines of `key value`.
pub fn read_key(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The PIDs listed in `cgroup.procs` (empty if the file cannot be read).
pub fn read_procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files_are_read_by_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let events = dir.path().join("memory.events");
        std::fs::write(&events, "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n").expect("write");
        assert_eq!(read_key(&events, "oom_kill"), Some(1));
        assert_eq!(read_key(&events, "max"), Some(12));
        assert_eq!(read_key(&events, "oom_group_kill"), None);
        let max = dir.path().join("pids.max");
        std::fs::write(&max, "max\n").expect("write");
        assert_eq!(read_number(&max), None, "\"max\" is no number");
    }
}
