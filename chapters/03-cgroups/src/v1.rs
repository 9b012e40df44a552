//! cgroup v1: one hierarchy per controller (or per group of controllers),
//! so one directory per hierarchy, and the same process written into each.
//!
//! There is no subtree_control: every controller of a hierarchy is active in
//! every directory of it, and a directory may hold processes and children.

use crate::cgroup::CgroupDir;
use crate::error::CgroupError;
use crate::files;
use crate::layout::{CgroupLayout, V1Hierarchy};
use crate::limits::{Limits, CPU_PERIOD_US};
use ch01_chroot::Narrator;

/// The v1 hierarchies that hold any of `controllers`, each once (cpu and
/// cpuacct are often mounted together as `cpu,cpuacct`).
pub(crate) fn hierarchies_for<'a>(
    layout: &'a CgroupLayout,
    controllers: &[&str],
) -> Vec<&'a V1Hierarchy> {
    let mut found: Vec<&V1Hierarchy> = Vec::new();
    for controller in controllers {
        if let Some(h) = layout.v1_hierarchy(controller) {
            if !found.iter().any(|f| f.mount_point == h.mount_point) {
                found.push(h);
            }
        }
    }
    found
}

// ANCHOR: v1_limits
/// The limits, in v1's words, for the controllers of this hierarchy.
pub(crate) fn write_limits(
    dir: &CgroupDir,
    limits: &Limits,
    narrator: &Narrator,
) -> Result<(), CgroupError> {
    let path = &dir.path;
    // ANCHOR: v1_memory
    if let (Some(bytes), true) = (limits.memory_bytes, dir.serves("memory")) {
        files::write(
            path,
            "memory.limit_in_bytes",
            &bytes.to_string(),
            "above this the kernel reclaims, then OOM-kills inside this cgroup",
            narrator,
        )?;
        // memsw = memory + swap. Absent when the kernel does no swap accounting
        // (swapaccount=0); then swap is not limited, only RAM.
        if path.join("memory.memsw.limit_in_bytes").exists() {
            files::write(
                path,
                "memory.memsw.limit_in_bytes",
                &bytes.to_string(),
                "memory + swap: the same number, so swapping gains nothing",
                narrator,
            )?;
        } else {
            narrator.observe("no memory.memsw.* files: this kernel does not account swap, so only RAM is limited");
        }
    }
    // ANCHOR_END: v1_memory
    // ANCHOR: v1_cpu
    if dir.serves("cpu") {
        if let Some(quota) = limits.cpu_quota_us() {
            files::write(
                path,
                "cpu.cfs_period_us",
                &CPU_PERIOD_US.to_string(),
                "the accounting period (µs)",
                narrator,
            )?;
            files::write(
                path,
                "cpu.cfs_quota_us",
                &quota.to_string(),
                "CPU time allowed per period (µs): the rest of the period the cgroup is throttled",
                narrator,
            )?;
        }
        if let Some(shares) = limits.cpu_shares() {
            files::write(
                path,
                "cpu.shares",
                &shares.to_string(),
                "share of CPU under contention (v1 scale: default 1024)",
                narrator,
            )?;
        }
    }
    // ANCHOR_END: v1_cpu
    if let (Some(pids), true) = (limits.pids, dir.serves("pids")) {
        files::write(
            path,
            "pids.max",
            &pids.to_string(),
            "fork() and clone() fail with EAGAIN beyond this many tasks",
            narrator,
        )?;
    }
    Ok(())
}
// ANCHOR_END: v1_limits
