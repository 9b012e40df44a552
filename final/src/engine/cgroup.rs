//! The container's cgroup, found from its first process while it runs
//! (/proc/PID/cgroup), recorded as chapter 03's non-owning handle: `stats`,
//! `top`, the OOM verdict and the final cleanup reopen it from state.json,
//! whichever runtime made it.

use ch03_cgroups::handle::HandleDir;
use ch03_cgroups::{CgroupHandle, CgroupLayout, LayoutKind};
use std::path::PathBuf;

/// Lines of /proc/PID/cgroup: (controllers, path).
fn membership(pid: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _ = parts.next()?;
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

// ANCHOR: of_pid
/// The cgroup directories of `pid` that are not also ours (a hierarchy
/// the runtime left alone holds the container in our own cgroup, which
/// must never be recorded — `rm` would remove it).
pub fn of_pid(id: &str, pid: i32) -> Option<CgroupHandle> {
    let layout = CgroupLayout::detect().ok()?;
    let theirs = membership(&pid.to_string());
    let ours = membership("self");
    let mut dirs = Vec::new();
    for (controllers, path) in &theirs {
        if ours.iter().any(|(c, p)| c == controllers && p == path) || path == "/" {
            continue;
        }
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            if let Some(v2) = &layout.v2 {
                dirs.push(HandleDir {
                    version: "v2".into(),
                    path: v2.mount_point.join(relative),
                    controllers: v2.controllers.clone(),
                });
            }
            continue;
        }
        let names: Vec<String> = controllers.split(',').map(str::to_string).collect();
        if let Some(h) = layout.v1.iter().find(|h| h.controllers == names) {
            dirs.push(HandleDir {
                version: "v1".into(),
                path: h.mount_point.join(relative),
                controllers: names,
            });
        }
    }
    if dirs.is_empty() {
        return None;
    }
    let created: Vec<PathBuf> = dirs.iter().map(|d| d.path.clone()).collect();
    Some(CgroupHandle {
        id: id.to_string(),
        layout: match layout.kind {
            LayoutKind::Unified => "unified",
            LayoutKind::Legacy => "legacy",
            LayoutKind::Hybrid => "hybrid",
        }
        .into(),
        dirs,
        created,
        prune: Vec::new(),
    })
}
// ANCHOR_END: of_pid

/// True while any of the handle's directories exists.
pub fn exists(handle: &CgroupHandle) -> bool {
    handle.dirs.iter().any(|d| d.path.is_dir())
}
