//! The ways unpacking a layer can fail: what failed, which entry, what to do.

use crate::Compression;
use nix::errno::Errno;
use std::path::PathBuf;

/// Why a layer was not unpacked. Entry paths are shown as they appear in the
/// tar (lossily decoded), so an error can be matched with `tar -tvf`.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot unpack into {dest}: {errno} — pass an existing, empty directory")]
    Destination { dest: PathBuf, errno: Errno },

    #[error("openat2(2) is not available on this kernel ({errno}; it needs Linux 5.6): use Resolver::Auto or Resolver::InRootWalk")]
    Openat2Unavailable { errno: Errno },

    #[error("the layer is not valid {} data ({cause}): the blob is truncated or corrupt — fetch it again", format_name(*compression))]
    Decompress {
        compression: Compression,
        cause: String,
    },

    #[error("the layer is larger than {limit} bytes uncompressed: refused (raise `max_uncompressed_bytes` only for images you trust)")]
    TooLarge { limit: u64 },

    #[error("the layer is not a valid tar archive{}: {cause} — the blob is corrupt or not a layer", after.as_ref().map(|e| format!(" (after entry {e:?})")).unwrap_or_default())]
    Malformed {
        after: Option<String>,
        cause: String,
    },

    #[error(
        "layer entry {entry:?} has tar type {typeflag:?}, which a layer may not contain: refused"
    )]
    UnknownType { entry: String, typeflag: char },

    #[error("layer entry {entry:?}: its name {problem}: refused")]
    BadName {
        entry: String,
        problem: &'static str,
    },

    #[error("layer entry {entry:?} is a hardlink to {target:?}, which is not an earlier file of this layer: refused (a hardlink may only point inside its own layer)")]
    HardlinkOutsideLayer { entry: String, target: String },

    #[error("layer entry {entry:?} is a hardlink to the directory {target:?}: refused (directories cannot be hardlinked)")]
    HardlinkToDirectory { entry: String, target: String },

    #[error("layer entry {entry:?}: {component:?} on its path is not a directory: refused (an earlier entry made it a file)")]
    NotADirectory { entry: String, component: String },

    #[error("layer entry {entry:?}: too many symlinks on its path (a loop?): refused")]
    SymlinkLoop { entry: String },

    #[error("layer entry {entry:?} is owned by {uid}:{gid}, which is not mapped in this user namespace — map a range of ids (newuidmap) or set `same_owner: false`")]
    UnmappedOwner { entry: String, uid: u64, gid: u64 },

    #[error("layer entry {entry:?}: {what}: {errno}{hint}")]
    Syscall {
        entry: String,
        what: &'static str,
        errno: Errno,
        hint: &'static str,
    },

    #[error("layer entry {entry:?}: setting xattr {name:?}: {errno}")]
    Xattr {
        entry: String,
        name: String,
        errno: Errno,
    },

    #[error("layer entry {entry:?}: writing its contents: {cause} — is the disk full?")]
    Write {
        entry: String,
        cause: std::io::Error,
    },
}

/// What the compression is called in a message.
fn format_name(compression: Compression) -> &'static str {
    match compression {
        Compression::None => "tar",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// A path as bytes, shown to a person.
pub(crate) fn shown(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}
