//! Where the container's cgroup goes.
//!
//! A cgroup path is a directory path inside a hierarchy. Like runc's
//! cgroupfs driver, we read a parent that starts with `/` from the root of the
//! hierarchy, and any other parent from *our own* cgroup there (the line for
//! that hierarchy in /proc/self/cgroup).
//!
//! The defaults differ by version, for a reason:
//! - **v1**: `minibox` — relative, so the container nests under whatever
//!   cgroup we were started in, and stays inside the limits someone set for us
//!   (this book's CI runs every job in `memory:/process_api/<job>`).
//! - **v2**: `/minibox` — from the root, like docker's cgroupfs driver
//!   (`/sys/fs/cgroup/docker/<id>`). Our own cgroup holds processes (at least
//!   us), and v2 forbids a non-root cgroup with processes from handing
//!   controllers to children; the root is the one exception.

use crate::error::CgroupError;
use std::path::{Component, Path, PathBuf};

/// The parent used when `--cgroup-parent` is not given, per version.
pub const DEFAULT_V1_PARENT: &str = "minibox";
pub const DEFAULT_V2_PARENT: &str = "/minibox";

/// The container's place in every hierarchy: a parent path and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    id: String,
    /// `None`: the per-version default.
    parent: Option<String>,
}

/// The directories of one container's cgroup in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    /// The existing cgroup the path hangs from (the hierarchy's root, or ours).
    pub base: PathBuf,
    /// Directories between `base` and `dir`, outermost first.
    pub parents: Vec<PathBuf>,
    /// The container's own cgroup directory.
    pub dir: PathBuf,
    /// True for the default parent: ours to remove once empty, whoever made it.
    pub default_parent: bool,
}

impl Placement {
    /// Checks `id` and `parent`: plain names only, nothing that climbs out with `..`.
    pub fn new(id: &str, parent: Option<&str>) -> Result<Placement, CgroupError> {
        let bad_id = id.is_empty()
            || id == "."
            || id == ".."
            || id.contains('/')
            || id.contains('\0')
            || id.contains('\n');
        if bad_id {
            return Err(CgroupError::Invalid {
                what: "cgroup name",
                value: id.to_string(),
                expected: "a plain directory name: letters, digits, - _ .",
            });
        }
        if let Some(parent) = parent {
            let climbs = Path::new(parent)
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir));
            if climbs || parent.contains('\0') || parent.contains('\n') {
                return Err(CgroupError::Invalid {
                    what: "--cgroup-parent",
                    value: parent.to_string(),
                    expected: "a cgroup path without . or .., e.g. /minibox or mygroup",
                });
            }
        }
        Ok(Placement {
            id: id.to_string(),
            parent: parent.map(String::from),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    // ANCHOR: spot
    /// Where the cgroup goes in a hierarchy mounted at `mount_point`, in
    /// which this process lives in `own_dir`; `default_parent` is this
    /// version's default.
    pub fn spot(&self, mount_point: &Path, own_dir: &Path, default_parent: &str) -> Spot {
        let parent = self.parent.as_deref().unwrap_or(default_parent);
        let (base, relative) = match parent.strip_prefix('/') {
            Some(from_root) => (mount_point.to_path_buf(), from_root),
            None => (own_dir.to_path_buf(), parent),
        };
        let mut parents = Vec::new();
        let mut here = base.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            here.push(part);
            parents.push(here.clone());
        }
        Spot {
            dir: here.join(&self.id),
            base,
            parents,
            default_parent: self.parent.is_none(),
        }
    }
    // ANCHOR_END: spot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_default_nests_under_our_own_cgroup() {
        let p = Placement::new("web", None).expect("valid");
        let spot = p.spot(
            Path::new("/sys/fs/cgroup/memory"),
            Path::new("/sys/fs/cgroup/memory/process_api/7bff"),
            DEFAULT_V1_PARENT,
        );
        assert_eq!(
            spot.dir,
            Path::new("/sys/fs/cgroup/memory/process_api/7bff/minibox/web")
        );
        assert_eq!(
            spot.parents,
            vec![PathBuf::from(
                "/sys/fs/cgroup/memory/process_api/7bff/minibox"
            )]
        );
        assert!(spot.default_parent);
    }

    #[test]
    fn v2_default_hangs_from_the_root() {
        let p = Placement::new("web", None).expect("valid");
        let spot = p.spot(
            Path::new("/sys/fs/cgroup"),
            Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"),
            DEFAULT_V2_PARENT,
        );
        assert_eq!(spot.dir, Path::new("/sys/fs/cgroup/minibox/web"));
        assert_eq!(spot.base, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn an_explicit_parent_is_kept_and_not_ours_to_remove() {
        let p = Placement::new("web", Some("/team/a")).expect("valid");
        let spot = p.spot(
            Path::new("/sys/fs/cgroup"),
            Path::new("/sys/fs/cgroup"),
            DEFAULT_V2_PARENT,
        );
        assert_eq!(spot.dir, Path::new("/sys/fs/cgroup/team/a/web"));
        assert_eq!(spot.parents.len(), 2);
        assert!(!spot.default_parent);
    }

    #[test]
    fn names_that_climb_out_are_refused() {
        assert!(Placement::new("../etc", None).is_err());
        assert!(Placement::new("a/b", None).is_err());
        assert!(Placement::new("ok", Some("/minibox/../..")).is_err());
    }
}
