//! Reading the mount table, to check that nothing leaked.

use crate::error::OverlayError;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The mount points of this process's mount namespace, from /proc/self/mountinfo.
pub fn mount_points() -> Result<Vec<PathBuf>, OverlayError> {
    let table = std::fs::read("/proc/self/mountinfo")
        .map_err(OverlayError::io("reading", "/proc/self/mountinfo"))?;
    Ok(table
        .split(|&b| b == b'\n')
        // Field 5 is the mount point (see proc(5)).
        .filter_map(|line| line.split(|&b| b == b' ').nth(4))
        .map(|field| PathBuf::from(OsString::from_vec(unescape(field))))
        .collect())
}

/// True if `path` is a mount point in this mount namespace.
pub fn is_mount_point(path: &Path) -> Result<bool, OverlayError> {
    let path = match path.canonicalize() {
        Ok(path) => path,
        Err(_) => return Ok(false), // a path that does not exist mounts nothing
    };
    Ok(mount_points()?.contains(&path))
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = u32::from(d[0] - b'0') * 64
                    + u32::from(d[1] - b'0') * 8
                    + u32::from(d[2] - b'0');
                // Escapes only ever encode single bytes; anything larger is kept verbatim.
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape(br"/tmp/a\040b"), b"/tmp/a b");
        assert_eq!(unescape(br"/x\134y"), b"/x\\y");
        assert_eq!(unescape(b"/plain"), b"/plain");
    }
}
