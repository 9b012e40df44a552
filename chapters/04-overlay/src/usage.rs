//! Disk usage, the way `du -s` counts it.

use crate::error::OverlayError;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes of disk allocated under `path` (st_blocks × 512, hard links counted
/// once, symlinks not followed) — what `du -sB1` prints.
pub fn disk_usage(path: &Path) -> Result<u64, OverlayError> {
    let mut seen = HashSet::new();
    usage(path, &mut seen)
}

fn usage(path: &Path, seen: &mut HashSet<(u64, u64)>) -> Result<u64, OverlayError> {
    let metadata = std::fs::symlink_metadata(path).map_err(OverlayError::io("inspecting", path))?;
    if !seen.insert((metadata.dev(), metadata.ino())) {
        return Ok(0);
    }
    let mut total = metadata.blocks() * 512;
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).map_err(OverlayError::io("reading", path))? {
            let entry = entry.map_err(OverlayError::io("reading", path))?;
            total += usage(&entry.path(), seen)?;
        }
    }
    Ok(total)
}

/// `4.0K`, `1.2M`: sizes as du -h prints them.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}
