//! What killed runs left behind: cgroups (chapters 03 and 04) and writable
//! layers (chapter 04). Their containers died with their supervisors; these
//! stay until someone removes them — `minibox doctor --clean` does, but only
//! what no live process uses (see chapter 03's `stale` and chapter 04's `state`).

use super::{Check, Status};
use ch03_cgroups::CgroupLayout;
use std::path::PathBuf;

/// Where chapter 04 makes its state directories by default, and their prefix.
const STATE_PREFIX: &str = "ch04-overlay-";

/// The leftovers on this machine: stale cgroups, then stale state directories.
fn find() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let cgroups = CgroupLayout::detect()
        .map(|layout| ch03_cgroups::stale::find(&layout))
        .unwrap_or_default();
    let states = ch04_overlay::state::find_stale(&std::env::temp_dir(), STATE_PREFIX);
    (cgroups, states)
}

pub fn check_leftovers(clean: bool) -> Check {
    let (cgroups, states) = find();
    if cgroups.is_empty() && states.is_empty() {
        return Check::new(
            "leftovers",
            Status::Ok,
            "no cgroup or writable layer left behind by a killed run",
        );
    }
    if clean {
        return clean_up(cgroups, states);
    }
    let mut check = Check::new(
        "leftovers",
        Status::Warn,
        format!(
            "{} cgroup(s) and {} writable layer(s) left behind by runs that were killed",
            cgroups.len(),
            states.len()
        ),
    );
    for dir in cgroups.iter().chain(&states) {
        check = check.detail(dir.display().to_string());
    }
    check.fix("`sudo minibox doctor --clean` removes them (only what no running container uses)")
}

fn clean_up(cgroups: Vec<PathBuf>, states: Vec<PathBuf>) -> Check {
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for dir in cgroups {
        match ch03_cgroups::stale::remove_if_unused(&dir, Some(ch03_cgroups::stale::SWEEP_GRACE)) {
            Ok(true) => removed.push(dir),
            Ok(false) => kept.push(format!("{}: rmdir failed", dir.display())),
            Err(why) => kept.push(format!("{}: {why}", dir.display())),
        }
    }
    for dir in states {
        match ch04_overlay::state::remove_stale(&dir) {
            Ok(()) => removed.push(dir),
            Err(err) => kept.push(err.to_string()),
        }
    }
    let mut check = Check::new(
        "leftovers",
        if kept.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        format!("removed {} leftover(s) of killed runs", removed.len()),
    );
    for dir in &removed {
        check = check.detail(format!("removed {}", dir.display()));
    }
    for why in kept {
        check = check.detail(format!("kept {why}"));
    }
    check
}
