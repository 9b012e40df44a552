//! The ways chapter 04 can fail, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("no layers given: pass at least one `--layer DIR` (the bottom one is usually a rootfs, made with `minibox rootfs DIR`)")]
    NoLayers,

    #[error("layer {0} is not a directory: `--layer` wants a directory holding an unpacked layer or a rootfs")]
    LayerNotADirectory(PathBuf),

    #[error(
        "{count} lower layers is more than overlayfs stacks ({max}): squash some layers into one"
    )]
    TooManyLayers { count: usize, max: usize },

    #[error("the overlay mount options need {len} bytes even with short layer names, but mount(2) copies at most {limit}: use fewer layers")]
    OptionsTooLong { len: usize, limit: usize },

    #[error("upper dir {upper} and work dir {work} are on different filesystems: overlayfs moves finished copy-ups from work to upper with rename(2), which cannot cross filesystems — keep both in one state directory")]
    WorkDirOnAnotherFilesystem { upper: PathBuf, work: PathBuf },

    #[error("mounting overlay on {target}: {errno} — {hint}")]
    Mount {
        target: PathBuf,
        errno: nix::errno::Errno,
        hint: &'static str,
    },

    #[error("unmounting {target}: {errno} — is a process still using it? (`fuser -vm {target}`)")]
    Unmount {
        target: PathBuf,
        errno: nix::errno::Errno,
    },

    #[error("{0} is still a mount point: refusing to delete the state directory through a live overlay — unmount it first (`umount {0}`)")]
    StillMounted(PathBuf),

    #[error("{0:?} cannot name a state directory: use one plain file name, without '/'")]
    BadStateId(String),

    #[error("{0} is not a container's state directory (no upper/, work/ and merged/ in it): check the id and the state directory's parent")]
    NotAStateDir(PathBuf),

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl OverlayError {
    /// Wraps an I/O error with what we were doing and to which path.
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> OverlayError {
        let path = path.into();
        move |source| OverlayError::Io { what, path, source }
    }
}
