//! The overlay mount options, and the one-page limit on them.
//!
//! overlayfs takes everything as one option string, the `data` argument of
//! mount(2):
//!
//! ```text
//! lowerdir=/layers/top:/layers/middle:/layers/bottom,upperdir=/s/upper,workdir=/s/work
//! ```
//!
//! The kernel copies at most one page (4096 bytes) of it. An image with many
//! layers in a deep directory overflows that page, and the mount then fails
//! with a misleading ENOENT (the last path was cut in half). The way out,
//! used by docker's overlay2 driver: give every layer a short name (`l/0`,
//! `l/1`, … symlinks in the state directory), chdir(2) into the state
//! directory and pass *relative* paths. 64 layers then cost ~300 bytes.

use crate::error::OverlayError;
use crate::state::StateDir;
use crate::whiteout::XattrNamespace;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// mount(2) copies one page of options, and the string needs its NUL.
pub const MOUNT_DATA_MAX: usize = 4096 - 1;

/// overlayfs stacks at most this many lower layers (OVL_MAX_STACK).
pub const MAX_LOWER_LAYERS: usize = 500;

/// How the layer paths are spelled in the option string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathForm {
    /// Absolute paths: readable in `findmnt`, fits for a few layers.
    Absolute,
    /// Paths relative to the state directory (`l/0`, `upper`, `work`):
    /// mount(2) must be called with that directory as the working directory.
    ShortLinks { base: PathBuf },
}

/// Everything needed to call mount(2) for one container's overlay.
#[derive(Debug, Clone)]
pub struct MountPlan {
    /// The lower layers, top first, as absolute paths.
    pub lowers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// The `data` argument of mount(2).
    pub options: String,
    pub form: PathForm,
    pub xattrs: XattrNamespace,
    /// How long the option string is with absolute paths (to show why short links were needed).
    pub absolute_len: usize,
}

impl MountPlan {
    /// Checks the layers and builds the option string for a container whose
    /// writable layer lives in `state`. `lowers` are given top layer first,
    /// the way overlayfs wants them (and the reverse of an image manifest).
    ///
    /// Falls back to short links (created in `state`) when absolute paths
    /// would not fit in a page or need escaping.
    pub fn prepare(
        lowers: &[PathBuf],
        state: &StateDir,
        xattrs: XattrNamespace,
    ) -> Result<MountPlan, OverlayError> {
        if lowers.is_empty() {
            return Err(OverlayError::NoLayers);
        }
        if lowers.len() > MAX_LOWER_LAYERS {
            return Err(OverlayError::TooManyLayers {
                count: lowers.len(),
                max: MAX_LOWER_LAYERS,
            });
        }
        let lowers = lowers
            .iter()
            .map(|layer| match layer.canonicalize() {
                Ok(path) if path.is_dir() => Ok(path),
                _ => Err(OverlayError::LayerNotADirectory(layer.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (upper, work) = (state.upper(), state.work());
        check_same_filesystem(&upper, &work)?;

        // ANCHOR: choose_form
        let absolute = absolute_options(&lowers, &upper, &work, xattrs);
        let absolute_len = absolute_length(&lowers, &upper, &work, xattrs);
        let (options, form) = match absolute {
            Some(options) if options.len() <= MOUNT_DATA_MAX => (options, PathForm::Absolute),
            // Too long (or a path with ',' or ':' that would need escaping):
            // short names relative to the state directory, as docker does.
            _ => {
                let short = short_link_options(&lowers, state, xattrs)?;
                if short.len() > MOUNT_DATA_MAX {
                    return Err(OverlayError::OptionsTooLong {
                        len: short.len(),
                        limit: MOUNT_DATA_MAX,
                    });
                }
                let base = state.path().to_path_buf();
                (short, PathForm::ShortLinks { base })
            }
        };
        // ANCHOR_END: choose_form
        Ok(MountPlan {
            lowers,
            upper,
            work,
            options,
            form,
            xattrs,
            absolute_len,
        })
    }
}

// ANCHOR: option_string
/// `lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W[,userxattr]`
fn option_string(lowers: &[&str], upper: &str, work: &str, xattrs: XattrNamespace) -> String {
    let mut options = format!(
        "lowerdir={},upperdir={upper},workdir={work}",
        lowers.join(":")
    );
    if xattrs == XattrNamespace::User {
        // Inside a user namespace: keep overlay's bookkeeping in user.overlay.*
        // xattrs, because trusted.* needs CAP_SYS_ADMIN in the *initial* namespace.
        options.push_str(",userxattr");
    }
    options
}
// ANCHOR_END: option_string

/// The option string with absolute paths, or `None` if a path would need escaping.
fn absolute_options(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    xattrs: XattrNamespace,
) -> Option<String> {
    // ',' separates options and ':' separates layers; overlayfs accepts them
    // backslash-escaped, but short links avoid the question entirely.
    fn plain(path: &Path) -> Option<&str> {
        path.to_str().filter(|s| !s.contains([',', ':', '\\']))
    }
    let lowers = lowers
        .iter()
        .map(|p| plain(p))
        .collect::<Option<Vec<_>>>()?;
    Some(option_string(&lowers, plain(upper)?, plain(work)?, xattrs))
}

/// The length of the absolute option string, escaping aside.
fn absolute_length(lowers: &[PathBuf], upper: &Path, work: &Path, xattrs: XattrNamespace) -> usize {
    let lossy = |p: &Path| p.to_string_lossy().into_owned();
    let lowers: Vec<String> = lowers.iter().map(|p| lossy(p)).collect();
    let lowers: Vec<&str> = lowers.iter().map(String::as_str).collect();
    option_string(&lowers, &lossy(upper), &lossy(work), xattrs).len()
}

// ANCHOR: short_links
/// Creates `l/0 -> top layer`, `l/1 -> next`, … in the state directory and
/// returns options with paths relative to it.
fn short_link_options(
    lowers: &[PathBuf],
    state: &StateDir,
    xattrs: XattrNamespace,
) -> Result<String, OverlayError> {
    let mut names = Vec::with_capacity(lowers.len());
    for (index, layer) in lowers.iter().enumerate() {
        let link = state.links().join(index.to_string());
        // overlayfs follows a symlink given as a lower dir, so the kernel sees
        // the real layer while the option string carries four bytes.
        std::os::unix::fs::symlink(layer, &link).map_err(OverlayError::io("linking", &link))?;
        names.push(format!("l/{index}"));
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(option_string(&names, "upper", "work", xattrs))
}
// ANCHOR_END: short_links

// ANCHOR: same_fs
/// overlayfs prepares each copy-up in workdir and then rename(2)s it into
/// upperdir, so that a crash never leaves a half-copied file visible. rename
/// cannot cross filesystems: both must live on one.
fn check_same_filesystem(upper: &Path, work: &Path) -> Result<(), OverlayError> {
    let dev = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.dev())
            .map_err(OverlayError::io("inspecting", p))
    };
    if dev(upper)? != dev(work)? {
        return Err(OverlayError::WorkDirOnAnotherFilesystem {
            upper: upper.to_path_buf(),
            work: work.to_path_buf(),
        });
    }
    Ok(())
}
// ANCHOR_END: same_fs

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(parent: &Path, count: usize, name_len: usize) -> Vec<PathBuf> {
        (0..count)
            .map(|i| {
                let dir = parent.join(format!("{i:0>width$}", width = name_len));
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
                dir
            })
            .collect()
    }

    fn state(parent: &Path) -> StateDir {
        StateDir::create(parent, "state-").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn few_layers_use_absolute_paths_top_first() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lowers = layers(tmp.path(), 2, 3);
        let state = state(tmp.path());
        let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::Trusted)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.form, PathForm::Absolute);
        let expected = format!(
            "lowerdir={}:{},upperdir={},workdir={}",
            lowers[0].canonicalize().unwrap_or_default().display(),
            lowers[1].canonicalize().unwrap_or_default().display(),
            state.upper().display(),
            state.work().display()
        );
        assert_eq!(plan.options, expected);
    }

    #[test]
    fn userxattr_is_added_for_user_namespaces() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let lowers = layers(tmp.path(), 1, 3);
        let state = state(tmp.path());
        let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::User)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.options.ends_with(",userxattr"), "{}", plan.options);
    }

    #[test]
    fn long_layer_lists_switch_to_short_links() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // 64 layers with 100-byte names: ~6.5 KB of absolute paths.
        let lowers = layers(tmp.path(), 64, 100);
        let state = state(tmp.path());
        let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::Trusted)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(plan.form, PathForm::ShortLinks { .. }));
        assert!(plan.options.starts_with("lowerdir=l/0:l/1:"));
        assert!(plan.options.ends_with(",upperdir=upper,workdir=work"));
        assert!(plan.options.len() < 400, "{}", plan.options.len());
        let link = std::fs::read_link(state.links().join("63")).unwrap_or_default();
        assert_eq!(link, lowers[63].canonicalize().unwrap_or_default());
    }

    #[test]
    fn commas_in_paths_switch_to_short_links() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let layer = tmp.path().join("a,b");
        std::fs::create_dir(&layer).unwrap_or_else(|e| panic!("{e}"));
        let state = state(tmp.path());
        let plan = MountPlan::prepare(&[layer], &state, XattrNamespace::Trusted)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(plan.form, PathForm::ShortLinks { .. }));
    }

    #[test]
    fn missing_layers_and_no_layers_are_errors() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let state = state(tmp.path());
        let missing = tmp.path().join("nope");
        assert!(matches!(
            MountPlan::prepare(&[missing], &state, XattrNamespace::Trusted),
            Err(OverlayError::LayerNotADirectory(_))
        ));
        assert!(matches!(
            MountPlan::prepare(&[], &state, XattrNamespace::Trusted),
            Err(OverlayError::NoLayers)
        ));
    }
}
