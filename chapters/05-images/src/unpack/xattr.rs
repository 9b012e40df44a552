//! Extended attributes from a tar's PAX `SCHILY.xattr.NAME` records — file
//! capabilities (`security.capability`), ACLs, `user.*` — set on the new file.
//!
//! Two kinds are never taken from a tar: `trusted.overlay.*` and
//! `user.overlay.*`. overlayfs trusts those to mean "opaque", "redirect to
//! that path", "metacopy of that file"; an image that could write them would
//! forge the overlay's own bookkeeping. Opaque directories come from
//! `.wh..wh..opq` entries instead (see `whiteout.rs`), set by us.

use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One attribute to set.
#[derive(Debug)]
pub(crate) struct Xattr {
    pub(crate) name: CString,
    pub(crate) value: Vec<u8>,
}

const PAX_PREFIX: &[u8] = b"SCHILY.xattr.";

// ANCHOR: overlay_xattrs
/// True for attributes only overlayfs (and we, for whiteouts) may write.
pub(crate) fn is_overlay_private(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}
// ANCHOR_END: overlay_xattrs

/// The attributes of one entry, from its PAX records, into `out`; returns
/// how many were left out (overlay-private or unusable names).
pub(crate) fn from_pax<'a>(
    records: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    out: &mut Vec<Xattr>,
) -> u64 {
    let mut refused = 0;
    for (key, value) in records {
        let Some(name) = key.strip_prefix(PAX_PREFIX) else {
            continue;
        };
        if is_overlay_private(name) {
            refused += 1;
            continue;
        }
        match CString::new(name) {
            Ok(name) => out.push(Xattr {
                name,
                value: value.to_vec(),
            }),
            Err(_) => refused += 1,
        }
    }
    refused
}

/// The attributes a filesystem or our privileges cannot hold are skipped
/// (and counted), as `tar --xattrs` does: EPERM (`trusted.*` inside a user
/// namespace, `user.*` on a device), ENOTSUP (a filesystem without them).
fn skippable(errno: Errno) -> bool {
    matches!(errno, Errno::EPERM | Errno::ENOTSUP)
}

/// Sets the attributes on a file or directory we hold open (not O_PATH).
pub(crate) fn set_on_fd(fd: BorrowedFd<'_>, xattrs: &[Xattr]) -> Result<u64, (Errno, String)> {
    let mut skipped = 0;
    for xattr in xattrs {
        // fsetxattr(2) on our fd: no path, so nothing to follow.
        let rc = unsafe {
            libc::fsetxattr(
                fd.as_raw_fd(),
                xattr.name.as_ptr(),
                xattr.value.as_ptr().cast(),
                xattr.value.len(),
                0,
            )
        };
        if let Err(errno) = Errno::result(rc) {
            if !skippable(errno) {
                return Err((errno, xattr.name.to_string_lossy().into_owned()));
            }
            skipped += 1;
        }
    }
    Ok(skipped)
}

/// Sets the attributes on `name` in `parent` without following it (for
/// symlinks and device nodes, which cannot be opened for writing).
pub(crate) fn set_at(
    parent: BorrowedFd<'_>,
    name: &[u8],
    xattrs: &[Xattr],
) -> Result<u64, (Errno, String)> {
    if xattrs.is_empty() {
        return Ok(0);
    }
    // There is no lsetxattrat(2) before Linux 6.13: name the entry through the
    // parent's fd in /proc (the parent is pinned; `l` does not follow `name`).
    let mut path = format!("/proc/self/fd/{}/", parent.as_raw_fd()).into_bytes();
    path.extend_from_slice(name);
    let path = CString::new(path).map_err(|_| (Errno::EINVAL, String::new()))?;
    let mut skipped = 0;
    for xattr in xattrs {
        let rc = unsafe {
            libc::lsetxattr(
                path.as_ptr(),
                xattr.name.as_ptr(),
                xattr.value.as_ptr().cast(),
                xattr.value.len(),
                0,
            )
        };
        if let Err(errno) = Errno::result(rc) {
            if !skippable(errno) {
                return Err((errno, xattr.name.to_string_lossy().into_owned()));
            }
            skipped += 1;
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_attributes_never_come_from_a_tar() {
        let records: Vec<(&[u8], &[u8])> = vec![
            (b"SCHILY.xattr.user.comment", b"hi"),
            (b"SCHILY.xattr.trusted.overlay.opaque", b"y"),
            (b"SCHILY.xattr.user.overlay.redirect", b"/etc"),
            (b"SCHILY.xattr.security.capability", b"\x01"),
            (b"path", b"ignored/here"),
        ];
        let mut out = Vec::new();
        assert_eq!(from_pax(records.into_iter(), &mut out), 2);
        let names: Vec<_> = out.iter().map(|x| x.name.to_str().unwrap()).collect();
        assert_eq!(names, ["user.comment", "security.capability"]);
    }
}
