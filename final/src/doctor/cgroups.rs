//! The cgroup layout: unified v2, legacy v1 or hybrid — and where each
//! controller the chapters need actually lives.

use super::{Check, Status};
use ch03_cgroups::{CgroupLayout, LayoutKind};

/// The controllers chapter 03 sets limits with.
const NEEDED: [&str; 3] = ["memory", "cpu", "pids"];

pub fn check_cgroups() -> Vec<Check> {
    let layout = match CgroupLayout::detect() {
        Ok(layout) => layout,
        Err(e) => {
            return vec![Check::new("cgroups", Status::Fail, e.to_string())
                .fix("mount cgroup2: `sudo mount -t cgroup2 none /sys/fs/cgroup` (on a host without systemd)")]
        }
    };
    let mut summary = Check::new("cgroups", Status::Ok, layout.kind.to_string());
    for h in &layout.v1 {
        let what = if h.controllers.is_empty() {
            format!("name={}", h.name.as_deref().unwrap_or("?"))
        } else {
            h.controllers.join(",")
        };
        summary = summary.detail(format!(
            "v1 {what} at {} (we are in {})",
            h.mount_point.display(),
            h.own_dir.display()
        ));
    }
    if let Some(v2) = &layout.v2 {
        let controllers = if v2.controllers.is_empty() {
            "none".to_string()
        } else {
            v2.controllers.join(" ")
        };
        summary = summary.detail(format!(
            "cgroup2 at {} with controllers: {controllers} (we are in {})",
            v2.mount_point.display(),
            v2.own_dir.display()
        ));
    }
    if layout.kind == LayoutKind::Hybrid {
        summary = summary.detail("hybrid: minibox uses v1 for the controllers bound there (as runc does; crun refuses hybrid hosts)");
    }
    let mut checks = vec![summary];
    checks.push(check_controllers(&layout));
    checks
}

/// For each needed controller: v2, v1, or nowhere — and on v2, whether it is
/// enabled for children (cgroup.subtree_control), the classic v2 gotcha.
fn check_controllers(layout: &CgroupLayout) -> Check {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut not_delegated = Vec::new();
    let root_subtree = layout
        .v2
        .as_ref()
        .and_then(|v2| std::fs::read_to_string(v2.mount_point.join("cgroup.subtree_control")).ok())
        .unwrap_or_default();
    for controller in NEEDED {
        if layout.v2_offers(controller) {
            found.push(format!("{controller}: v2"));
            if !root_subtree.split_whitespace().any(|c| c == controller) {
                not_delegated.push(controller);
            }
        } else if let Some(h) = layout.v1_hierarchy(controller) {
            found.push(format!("{controller}: v1 ({})", h.mount_point.display()));
        } else {
            missing.push(controller);
        }
    }
    let mut check = Check::new("controllers", Status::Ok, found.join(", "));
    if !not_delegated.is_empty() {
        check.status = Status::Warn;
        check = check
            .detail(format!(
                "not yet in the root's cgroup.subtree_control: {} (chapter 03 enables them, as root, for its own subtree)",
                not_delegated.join(" ")
            ))
            .fix(format!(
                "nothing to do as root; to see it: `cat {}/cgroup.subtree_control`",
                layout.v2.as_ref().map_or("/sys/fs/cgroup".into(), |v| v.mount_point.display().to_string())
            ));
    }
    if !missing.is_empty() {
        check.status = Status::Fail;
        check = check.detail(format!("missing: {}", missing.join(" "))).fix(
            "boot with these controllers enabled (e.g. kernel command line `cgroup_enable=memory swapaccount=1` on Raspberry Pi OS); chapter 03 needs them",
        );
    }
    check
}
