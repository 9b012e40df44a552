//! The limits a container can ask for, and how each one is spelled in
//! cgroup v2 and in cgroup v1.
//!
//! The user speaks one language (`--memory 64M --cpus 0.5 --cpu-weight 200
//! --pids 32`); the kernel speaks two. The conversions live here so that the
//! v1 and v2 code paths write the same intent.

use crate::error::CgroupError;

/// What the container may use. `None` means "no limit".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Memory, in bytes, swap included: the container never swaps beyond it.
    pub memory_bytes: Option<u64>,
    /// CPU bandwidth in CPUs: 0.5 = half of one CPU per period.
    pub cpus: Option<f64>,
    /// Relative CPU weight under contention, cgroup v2 scale 1…10000 (default 100).
    pub cpu_weight: Option<u64>,
    /// The most processes (and threads) the container may have at once.
    pub pids: Option<u64>,
}

/// The fewest processes a container can run with: chapter 02's init, which
/// forks the command, and the command.
pub const MIN_PIDS: u64 = 2;

/// The CFS bandwidth period both versions use by default: 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

// ANCHOR: conversions
impl Limits {
    /// `--cpus 0.5` → 50 000 µs of CPU time in every 100 000 µs period.
    /// The kernel refuses quotas under 1 ms.
    pub fn cpu_quota_us(&self) -> Option<u64> {
        self.cpus
            .map(|cpus| ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1_000))
    }

    /// v2's `cpu.weight` (1…10000, default 100) as v1's `cpu.shares`
    /// (2…262144, default 1024). We invert the linear shares → weight map
    /// that runc used before 1.3.2 and crun before 1.23
    /// (weight = 1 + (shares − 2) × 9999 / 262142), so the shares we write
    /// convert back to exactly the weight asked for. It keeps the ends
    /// (1 ↔ 2, 10000 ↔ 262144) but not the defaults: weight 100 becomes 2597
    /// shares, 2.5× a default v1 sibling (and the old map sent docker's
    /// 1024 shares to weight 39). systemd maps proportionally
    /// (shares = weight × 1024 / 100, so 100 ↔ 1024), and runc ≥ 1.3.2 and
    /// crun ≥ 1.23 moved to a log-quadratic map that keeps 1024 ↔ 100 too
    /// (opencontainers/cgroups#20, crun#1767, runc#4772).
    pub fn cpu_shares(&self) -> Option<u64> {
        self.cpu_weight
            .map(|weight| 2 + (weight.saturating_sub(1) * 262_142) / 9_999)
    }
}
// ANCHOR_END: conversions

impl Limits {
    /// Checks each value against what the kernel accepts, so a typo gets a
    /// clear error before any cgroup exists.
    pub fn validate(&self) -> Result<(), CgroupError> {
        if let Some(cpus) = self.cpus {
            if !(cpus.is_finite() && cpus > 0.0) {
                return Err(CgroupError::Invalid {
                    what: "--cpus",
                    value: cpus.to_string(),
                    expected: "a positive number of CPUs, e.g. 0.5 or 2",
                });
            }
        }
        if let Some(weight) = self.cpu_weight {
            if !(1..=10_000).contains(&weight) {
                return Err(CgroupError::Invalid {
                    what: "--cpu-weight",
                    value: weight.to_string(),
                    expected: "a weight from 1 to 10000 (the default is 100)",
                });
            }
        }
        if let Some(pids) = self.pids.filter(|&pids| pids < MIN_PIDS) {
            return Err(CgroupError::Invalid {
                what: "--pids",
                value: pids.to_string(),
                expected: "at least 2: the container's init and the command are a process each (and a shell that runs commands needs one more per command)",
            });
        }
        if let Some(bytes) = self.memory_bytes {
            if bytes < 4096 {
                return Err(CgroupError::Invalid {
                    what: "--memory",
                    value: bytes.to_string(),
                    expected: "at least one page (4K); a few MiB for a shell",
                });
            }
        }
        Ok(())
    }

    /// True when no limit at all is set (the cgroup then only accounts).
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// Parses a size the way docker does: `64M`, `1g`, `512k`, `1048576`
/// (binary units: 1K = 1024 bytes; an optional `B`/`iB` is allowed).
pub fn parse_size(text: &str) -> Result<u64, CgroupError> {
    let invalid = || CgroupError::Invalid {
        what: "size",
        value: text.to_string(),
        expected: "a number with an optional unit K, M or G, e.g. 64M",
    };
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let without_b = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, multiplier) = match without_b.chars().last() {
        Some('k') => (&without_b[..without_b.len() - 1], 1u64 << 10),
        Some('m') => (&without_b[..without_b.len() - 1], 1 << 20),
        Some('g') => (&without_b[..without_b.len() - 1], 1 << 30),
        Some('t') => (&without_b[..without_b.len() - 1], 1 << 40),
        _ => (without_b, 1),
    };
    let value: f64 = digits.trim().parse().map_err(|_| invalid())?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(invalid());
    }
    Ok((value * multiplier as f64).round() as u64)
}

/// `67108864` → `64.0MiB`, the way `docker stats` shows sizes.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("64M").ok(), Some(64 << 20));
        assert_eq!(parse_size("64m").ok(), Some(64 << 20));
        assert_eq!(parse_size("1g").ok(), Some(1 << 30));
        assert_eq!(parse_size("512KiB").ok(), Some(512 << 10));
        assert_eq!(parse_size("1.5G").ok(), Some(3 << 29));
        assert_eq!(parse_size("4096").ok(), Some(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1M").is_err());
    }

    #[test]
    fn bytes_format_like_docker_stats() {
        assert_eq!(format_bytes(512), "512B");
        assert_eq!(format_bytes(64 << 20), "64.0MiB");
        assert_eq!(format_bytes(1536 << 10), "1.5MiB");
    }

    #[test]
    fn cpus_become_a_quota_per_100ms_period() {
        let half = Limits {
            cpus: Some(0.5),
            ..Limits::default()
        };
        assert_eq!(half.cpu_quota_us(), Some(50_000));
        let tiny = Limits {
            cpus: Some(0.001),
            ..Limits::default()
        };
        assert_eq!(
            tiny.cpu_quota_us(),
            Some(1_000),
            "the kernel minimum is 1 ms"
        );
    }

    #[test]
    fn weight_maps_to_shares_like_runc_and_crun() {
        let shares = |w| {
            Limits {
                cpu_weight: Some(w),
                ..Limits::default()
            }
            .cpu_shares()
        };
        assert_eq!(shares(1), Some(2));
        assert_eq!(shares(100), Some(2597));
        assert_eq!(shares(10_000), Some(262_144));
    }

    #[test]
    fn out_of_range_values_are_refused_before_any_cgroup_exists() {
        let bad = [
            Limits {
                cpus: Some(0.0),
                ..Limits::default()
            },
            Limits {
                cpu_weight: Some(0),
                ..Limits::default()
            },
            Limits {
                cpu_weight: Some(10_001),
                ..Limits::default()
            },
            Limits {
                pids: Some(0),
                ..Limits::default()
            },
            Limits {
                pids: Some(1),
                ..Limits::default()
            },
            Limits {
                memory_bytes: Some(1),
                ..Limits::default()
            },
        ];
        for limits in bad {
            assert!(limits.validate().is_err(), "{limits:?} should be refused");
        }
        assert!(Limits::default().validate().is_ok());
    }
}
