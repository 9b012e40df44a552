//! Whiteouts: how a layer tar says "delete", and what overlayfs wants on disk.
//!
//! In the tar (OCI image spec, from aufs): an empty file `.wh.NAME` deletes
//! NAME of the layers below; `.wh..wh..opq` in a directory hides everything
//! the layers below have in it. On disk for overlayfs (chapter 04): a 0/0
//! character device NAME, and the xattr `<ns>.overlay.opaque=y` on the
//! directory. We only ever *create* these markers in this layer's fresh
//! directory — a whiteout never deletes anything here, let alone on the host.

use ch04_overlay::XattrNamespace;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What a `.wh.`-prefixed name means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// `.wh..wh..opq`: the directory it is in becomes opaque.
    Opaque,
    /// `.wh.NAME`: NAME of the lower layers is deleted.
    Hides(&'a [u8]),
    /// Other `.wh..wh.*` names: aufs's own bookkeeping (`.wh..wh.plnk`); skipped.
    AufsMeta,
    /// `.wh.`, `.wh..`, `.wh...`: names nothing.
    Invalid,
}

// ANCHOR: classify
/// Reads a file name (the last component) as a whiteout, if it is one.
pub(crate) fn classify(name: &[u8]) -> Option<Whiteout<'_>> {
    let hidden = name.strip_prefix(b".wh.")?;
    Some(match hidden {
        b".wh..opq" => Whiteout::Opaque,
        _ if hidden.starts_with(b".wh.") => Whiteout::AufsMeta,
        b"" | b"." | b".." => Whiteout::Invalid,
        _ => Whiteout::Hides(hidden),
    })
}
// ANCHOR_END: classify

// ANCHOR: hide
/// Marks `name` in `parent` as deleted: a 0/0 character device.
pub(crate) fn hide(parent: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    // mknodat relative to the parent fd: the marker lands in this layer, nowhere else.
    // Device 0/0 is what overlayfs reads as "whiteout"; Linux 5.8+ lets even a
    // user namespace make one (no other device may be made there).
    match mknodat(parent, name, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)) {
        // The name is an entry of this very layer: a whiteout only hides the
        // layers below (OCI image spec), and this entry hides them already.
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(errno) => Err(errno),
    }
}
// ANCHOR_END: hide

// ANCHOR: opaque
/// Makes the directory `dir` (an O_PATH fd) opaque for overlayfs.
pub(crate) fn make_opaque(dir: BorrowedFd<'_>, xattrs: XattrNamespace) -> Result<(), Errno> {
    // xattrs cannot be set through an O_PATH fd: reopen "." of it for reading.
    let readable = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let name = CString::new(xattrs.attribute("opaque")).map_err(|_| Errno::EINVAL)?;
    // fsetxattr on our own fd of the directory: `trusted.overlay.opaque=y`
    // (or `user.` for a userxattr mount) is what overlayfs checks.
    let rc = unsafe {
        libc::fsetxattr(
            readable.as_raw_fd(),
            name.as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    Errno::result(rc).map(drop)
}
// ANCHOR_END: opaque

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteout_names() {
        assert_eq!(classify(b".wh..wh..opq"), Some(Whiteout::Opaque));
        assert_eq!(classify(b".wh.passwd"), Some(Whiteout::Hides(b"passwd")));
        assert_eq!(classify(b".wh..wh.plnk"), Some(Whiteout::AufsMeta));
        assert_eq!(classify(b".wh.."), Some(Whiteout::Invalid));
        assert_eq!(classify(b".wh."), Some(Whiteout::Invalid));
        assert_eq!(classify(b"passwd"), None);
        assert_eq!(classify(b"x.wh.y"), None);
    }
}
