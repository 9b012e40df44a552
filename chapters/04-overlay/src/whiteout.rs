//! How overlayfs records a deletion in the upper layer.
//!
//! The lower layers are read-only, so "delete /etc/motd" cannot touch them.
//! Instead overlayfs leaves a marker in the upper layer that hides the lower
//! file: a *whiteout*, a character device with device number 0/0 (no driver
//! has that number, so it can never be a real device). A directory that was
//! deleted and created again must hide *all* the lower entries under it: it
//! becomes *opaque*, an extended attribute on the upper directory.

use std::ffi::CString;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

// ANCHOR: is_whiteout
/// True if this upper-layer entry is a whiteout: a character device 0/0.
pub fn is_whiteout(metadata: &Metadata) -> bool {
    metadata.file_type().is_char_device() && metadata.rdev() == 0
}
// ANCHOR_END: is_whiteout

/// Where overlayfs keeps its own extended attributes.
///
/// `trusted.*` attributes can only be set by CAP_SYS_ADMIN in the *initial*
/// user namespace: a container's root, inside its own user namespace, cannot
/// write them. The `userxattr` mount option (Linux 5.11) moves overlayfs to
/// `user.overlay.*`, which the owner of the upper directory may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrNamespace {
    /// `trusted.overlay.*`: the default; needs real root.
    Trusted,
    /// `user.overlay.*`: with the `userxattr` option, inside a user namespace.
    User,
}

impl XattrNamespace {
    /// The full name of an overlay attribute, e.g. `trusted.overlay.opaque`.
    pub fn attribute(self, name: &str) -> String {
        match self {
            XattrNamespace::Trusted => format!("trusted.overlay.{name}"),
            XattrNamespace::User => format!("user.overlay.{name}"),
        }
    }
}

// ANCHOR: is_opaque
/// True if `dir` (in an upper or lower layer) is opaque: it hides everything
/// the layers below have at the same path.
pub fn is_opaque(dir: &Path, xattrs: XattrNamespace) -> bool {
    // `y` means opaque. (Since Linux 6.7 `x` marks a directory that merely
    // *contains* xattr-style whiteouts; it is not opaque.)
    read_xattr(dir, &xattrs.attribute("opaque")).as_deref() == Some(b"y".as_slice())
}
// ANCHOR_END: is_opaque

/// Reads an extended attribute without following a final symlink; `None` if
/// it is absent or cannot be read.
pub fn read_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = CString::new(name).ok()?;
    let mut value = vec![0u8; 256];
    // lgetxattr(2): nix has no xattr calls; the l- variant does not follow symlinks,
    // so a symlink in a layer cannot make us read a host file's attributes.
    let len = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    if len < 0 {
        return None;
    }
    value.truncate(len as usize);
    Some(value)
}
