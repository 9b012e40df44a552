//! `linux.resources` and `linux.cgroupsPath` → chapter 03.
//!
//! The OCI spec speaks cgroup v1's language (cpu.shares, quota/period in
//! µs, memory.limit and memory+swap); chapter 03 speaks the user's
//! (`--memory`, `--cpus`, `--cpu-weight`, `--pids`) and writes each in the
//! words of whichever version the host has.

use crate::error::RuntimeError;
use crate::log::RuntimeLog;
use ch03_cgroups::{Limits, Placement};
use std::path::Path;

// ANCHOR: limits
/// The limits chapter 03 applies, and the `unified` files passed through.
pub fn limits(
    resources: Option<&oci_spec::runtime::LinuxResources>,
    log: &RuntimeLog,
) -> Result<(Limits, Vec<(String, String)>), RuntimeError> {
    let mut limits = Limits::default();
    let Some(r) = resources else {
        return Ok((limits, Vec::new()));
    };
    if let Some(memory) = r.memory() {
        if let Some(limit) = memory.limit().filter(|l| *l > 0) {
            limits.memory_bytes = Some(limit as u64);
            if memory.swap().is_some_and(|s| s > limit) {
                log.warn("linux.resources.memory.swap above the limit: this runtime allows no swap beyond memory.limit (stricter)");
            }
        }
        for (set, field) in [
            (memory.reservation().is_some(), "reservation"),
            (memory.kernel().is_some(), "kernel"),
            (memory.kernel_tcp().is_some(), "kernelTCP"),
            (memory.swappiness().is_some(), "swappiness"),
        ] {
            if set {
                log.warn(&format!("linux.resources.memory.{field}: a soft or deprecated setting this runtime does not apply"));
            }
        }
        if memory.disable_oom_killer() == Some(true) {
            return Err(RuntimeError::unsupported(
                "linux.resources.memory.disableOOMKiller",
                "not supported: the OOM killer stays on",
            ));
        }
    }
    // ANCHOR: limits_cpu
    if let Some(cpu) = r.cpu() {
        if let Some(shares) = cpu.shares().filter(|s| *s > 0) {
            // The inverse of chapter 03's weight → shares map (2…262144 → 1…10000).
            limits.cpu_weight =
                Some((1 + (shares.clamp(2, 262_144) - 2) * 9_999 / 262_142).clamp(1, 10_000));
        }
        if let Some(quota) = cpu.quota().filter(|q| *q > 0) {
            let period = cpu.period().filter(|p| *p > 0).unwrap_or(100_000);
            limits.cpus = Some(quota as f64 / period as f64);
        }
        // ANCHOR_END: limits_cpu
        for (set, field) in [
            (
                cpu.cpus().as_deref().is_some_and(|s| !s.is_empty()),
                "cpus (cpuset)",
            ),
            (
                cpu.mems().as_deref().is_some_and(|s| !s.is_empty()),
                "mems (cpuset)",
            ),
            (
                cpu.realtime_runtime().is_some() || cpu.realtime_period().is_some(),
                "realtime",
            ),
            (cpu.idle().is_some_and(|i| i != 0), "idle"),
            (cpu.burst().is_some(), "burst"),
        ] {
            if set {
                return Err(RuntimeError::unsupported(
                    format!("linux.resources.cpu.{field}"),
                    "not supported by this runtime",
                ));
            }
        }
    }
    if let Some(pids) = r.pids() {
        if pids.limit() > 0 {
            limits.pids = Some(pids.limit() as u64);
        }
    }
    if let Some(block_io) = r.block_io() {
        let any = block_io.weight().is_some()
            || block_io.leaf_weight().is_some()
            || block_io
                .weight_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || block_io
                .throttle_read_bps_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || block_io
                .throttle_write_bps_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || block_io
                .throttle_read_iops_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || block_io
                .throttle_write_iops_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty());
        if any {
            return Err(RuntimeError::unsupported(
                "linux.resources.blockIO",
                "block I/O limits are not supported by this runtime yet",
            ));
        }
    }
    if r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(RuntimeError::unsupported(
            "linux.resources.hugepageLimits",
            "not supported by this runtime",
        ));
    }
    if r.rdma().as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(RuntimeError::unsupported(
            "linux.resources.rdma",
            "not supported by this runtime",
        ));
    }
    if r.network().is_some() {
        return Err(RuntimeError::unsupported(
            "linux.resources.network",
            "net_cls/net_prio are not supported by this runtime",
        ));
    }
    // linux.resources.devices: chapter 07 turns them into device rules,
    // chapter 03's device cgroup enforces them (see lifecycle.rs).
    let mut unified: Vec<(String, String)> = r
        .unified()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    unified.sort();
    limits.validate()?;
    Ok((limits, unified))
}
// ANCHOR_END: limits

/// `cgroupsPath` (`/default/web`, or relative `mygroup/web`) → chapter 03's
/// placement: the last component is the container's cgroup, the rest its
/// parent. Absent: chapter 03's default parent with the container id.
pub fn placement(id: &str, cgroups_path: Option<&Path>) -> Result<Placement, RuntimeError> {
    let Some(path) = cgroups_path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(Placement::new(id, None)?);
    };
    let text = path.to_string_lossy();
    if text.contains(':') && !text.starts_with('/') {
        return Err(RuntimeError::unsupported(
            "linux.cgroupsPath",
            format!("{text:?} is in systemd's slice:prefix:name form; this runtime manages cgroupfs paths (/parent/name): use the cgroupfs cgroup manager"),
        ));
    }
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        RuntimeError::invalid(
            "linux.cgroupsPath",
            format!("{text:?} has no last component"),
        )
    })?;
    let parent = path
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty() && p != "/");
    let parent = match (parent, text.starts_with('/')) {
        (Some(p), _) => Some(p),
        (None, true) => Some("/".to_string()),
        (None, false) => None,
    };
    Ok(Placement::new(name, parent.as_deref())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_path_splits_into_parent_and_name() {
        assert_eq!(
            placement("x", Some(Path::new("/default/web"))).ok(),
            Placement::new("web", Some("/default")).ok()
        );
        assert_eq!(placement("x", None).ok(), Placement::new("x", None).ok());
        assert!(placement("x", Some(Path::new("machine.slice:libpod:abc"))).is_err());
    }

    #[test]
    fn shares_and_quota_become_weight_and_cpus() {
        let r: oci_spec::runtime::LinuxResources =
            serde_json::from_str(r#"{"cpu":{"shares":1024,"quota":50000,"period":100000},"memory":{"limit":67108864},"pids":{"limit":32}}"#).expect("json");
        let (limits, _) = limits(Some(&r), &RuntimeLog::silent()).expect("valid");
        assert_eq!(limits.cpus, Some(0.5));
        assert_eq!(limits.cpu_weight, Some(39));
        assert_eq!(limits.memory_bytes, Some(64 << 20));
        assert_eq!(limits.pids, Some(32));
    }
}
