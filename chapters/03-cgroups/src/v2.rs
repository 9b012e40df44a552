//! cgroup v2: one tree, controllers handed down level by level.
//!
//! A controller works in a cgroup only if its parent lists it in
//! `cgroup.subtree_control`, and the parent's parent too, up to the root.
//! And a cgroup (other than the root) that hands controllers down must not
//! hold processes itself — the "no internal processes" rule. So the
//! container's cgroup is a leaf that holds processes, and every directory
//! above it only passes controllers down.

use crate::cgroup::CgroupDir;
use crate::error::CgroupError;
use crate::files;
use crate::limits::{Limits, CPU_PERIOD_US};
use crate::placement::Spot;
use ch01_chroot::Narrator;
use std::path::{Path, PathBuf};

// ANCHOR: subtree_control
// ANCHOR: subtree_levels
/// Makes `controllers` available to `spot.dir`: from the hierarchy's root
/// down to its parent, creates missing directories and writes `+memory`,
/// `+cpu`, `+pids` into each level's `cgroup.subtree_control`.
/// Returns the controllers that ended up enabled; a missing one is an error
/// only if a limit needs it (`required`), otherwise accounting just lacks it.
pub(crate) fn enable_down_to(
    mount_point: &Path,
    spot: &Spot,
    controllers: &[&'static str],
    required: &[&'static str],
    narrator: &Narrator,
    created: &mut Vec<PathBuf>,
) -> Result<Vec<String>, CgroupError> {
    let mut wanted: Vec<&'static str> = controllers.to_vec();
    for level in levels_above(mount_point, &spot.dir) {
        if !level.exists() {
            match std::fs::create_dir(&level) {
                Ok(()) => {
                    narrator.syscall(
                        &format!("mkdir {}", level.display()),
                        "the parent cgroup: it will hold no processes, only pass controllers down",
                    );
                    created.push(level.clone());
                }
                // Another container made it between our look and our mkdir: it is shared.
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(CgroupError::Create {
                        path: level.clone(),
                        source,
                    })
                }
            }
        }
        // ANCHOR_END: subtree_levels
        // Errors (ENOENT: another container's cleanup just removed this
        // shared parent) go up, and the caller starts again from the top.
        let offered = words(&level.join("cgroup.controllers"))?;
        let enabled = words(&level.join("cgroup.subtree_control"))?;
        let mut kept = Vec::new();
        let already: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|c| enabled.iter().any(|e| e == c))
            .collect();
        if !already.is_empty() {
            narrator.step(&format!(
                "{}/cgroup.subtree_control already hands down: {}",
                level.display(),
                already.join(" ")
            ));
        }
        // ANCHOR: subtree_enable
        for controller in wanted {
            if already.contains(&controller) {
                kept.push(controller);
                continue;
            }
            let outcome = if offered.iter().any(|c| c == controller) {
                files::write(
                    &level,
                    "cgroup.subtree_control",
                    &format!("+{controller}"),
                    "hand the controller down to the children of this cgroup",
                    narrator,
                )
            } else {
                Err(CgroupError::ControllerMissing {
                    limit: flag_for(controller),
                    controller,
                    hint: format!(
                        "{}/cgroup.controllers does not list it: it must be enabled in the cgroup.subtree_control one level up first",
                        level.display()
                    ),
                })
            };
            match outcome {
                Ok(()) => kept.push(controller),
                Err(err) if required.contains(&controller) => return Err(err),
                Err(err) => narrator.warn(&format!("no {controller} accounting: {err}")),
            }
        }
        // ANCHOR_END: subtree_enable
        wanted = kept;
    }
    Ok(wanted.into_iter().map(String::from).collect())
}
// ANCHOR_END: subtree_control

/// `/sys/fs/cgroup/minibox/web` under `/sys/fs/cgroup` →
/// `[/sys/fs/cgroup, /sys/fs/cgroup/minibox]`: every level whose
/// subtree_control must pass the controllers down.
fn levels_above(mount_point: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut levels = vec![mount_point.to_path_buf()];
    if let Some(parent) = dir.parent() {
        if let Ok(relative) = parent.strip_prefix(mount_point) {
            let mut here = mount_point.to_path_buf();
            for part in relative.components() {
                here.push(part);
                levels.push(here.clone());
            }
        }
    }
    levels
}

fn words(path: &Path) -> Result<Vec<String>, CgroupError> {
    Ok(files::read(path)?
        .split_whitespace()
        .map(String::from)
        .collect())
}

fn flag_for(controller: &str) -> &'static str {
    match controller {
        "memory" => "--memory",
        "cpu" => "--cpus/--cpu-weight",
        "pids" => "--pids",
        _ => "accounting",
    }
}

// ANCHOR: v2_limits
// ANCHOR: v2_memory
/// The limits, in v2's words.
pub(crate) fn write_limits(
    dir: &CgroupDir,
    limits: &Limits,
    narrator: &Narrator,
) -> Result<(), CgroupError> {
    let path = &dir.path;
    if let (Some(bytes), true) = (limits.memory_bytes, dir.serves("memory")) {
        files::write(
            path,
            "memory.max",
            &bytes.to_string(),
            "above this the kernel reclaims, then OOM-kills inside this cgroup",
            narrator,
        )?;
        // Without swap accounting (no swap, or CONFIG_SWAP off) the file is absent.
        if path.join("memory.swap.max").exists() {
            files::write(
                path,
                "memory.swap.max",
                "0",
                "no swap on top: the memory limit is the whole limit",
                narrator,
            )?;
        }
    }
    // ANCHOR_END: v2_memory
    // ANCHOR: v2_cpu_pids
    if dir.serves("cpu") {
        if let Some(quota) = limits.cpu_quota_us() {
            files::write(
                path,
                "cpu.max",
                &format!("{quota} {CPU_PERIOD_US}"),
                "CPU time allowed per period (µs): the rest of the period the cgroup is throttled",
                narrator,
            )?;
        }
        if let Some(weight) = limits.cpu_weight {
            files::write(
                path,
                "cpu.weight",
                &weight.to_string(),
                "share of CPU under contention, relative to sibling cgroups (default 100)",
                narrator,
            )?;
        }
    }
    if let (Some(pids), true) = (limits.pids, dir.serves("pids")) {
        files::write(
            path,
            "pids.max",
            &pids.to_string(),
            "fork() and clone() fail with EAGAIN beyond this many tasks",
            narrator,
        )?;
    }
    // ANCHOR_END: v2_cpu_pids
    Ok(())
}
// ANCHOR_END: v2_limits

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_above_the_leaf_passes_controllers_down() {
        assert_eq!(
            levels_above(
                Path::new("/sys/fs/cgroup"),
                Path::new("/sys/fs/cgroup/minibox/web")
            ),
            vec![
                PathBuf::from("/sys/fs/cgroup"),
                PathBuf::from("/sys/fs/cgroup/minibox")
            ]
        );
    }
}
