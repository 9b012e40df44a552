//! The cgroup as a record: a non-owning handle a later process reopens.
//!
//! The demos own their cgroup: [`Cgroup`] removes it when dropped. An OCI
//! runtime cannot work that way — `create` makes the cgroup and exits, and a
//! `pause`, `kill` or `delete` minutes later runs in another process. So the
//! cgroup becomes a record of its directories, saved in the container's
//! state file, from which any later process rebuilds a [`Cgroup`] to freeze,
//! kill or finally remove it (youki's cgroup managers work the same way).

use crate::cgroup::{Cgroup, CgroupDir, Version};
use crate::error::CgroupError;
use crate::layout::LayoutKind;
use ch01_chroot::Narrator;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything needed to find the cgroup again, serialisable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupHandle {
    pub id: String,
    /// "unified", "legacy" or "hybrid".
    pub layout: String,
    pub dirs: Vec<HandleDir>,
    /// Directories `create` made (removed with the cgroup, deepest first).
    pub created: Vec<PathBuf>,
    /// Default parents to remove once empty.
    pub prune: Vec<PathBuf>,
}

/// One directory of the cgroup: "v1" or "v2", its path, its controllers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleDir {
    pub version: String,
    pub path: PathBuf,
    pub controllers: Vec<String>,
}

// ANCHOR: into_handle
impl Cgroup {
    /// Gives up ownership: the cgroup stays when this value is dropped, and
    /// the handle says where it is.
    pub fn into_handle(mut self) -> CgroupHandle {
        let handle = self.handle();
        // Drop sees "already removed" and leaves the directories alone.
        self.removed = true;
        handle
    }
    // ANCHOR_END: into_handle

    /// Where this cgroup is, to save before anything can go wrong (the guard
    /// still owns the directories).
    pub fn handle(&self) -> CgroupHandle {
        CgroupHandle {
            id: self.id.clone(),
            layout: match self.kind {
                LayoutKind::Unified => "unified",
                LayoutKind::Legacy => "legacy",
                LayoutKind::Hybrid => "hybrid",
            }
            .to_string(),
            dirs: self
                .dirs
                .iter()
                .map(|d| HandleDir {
                    version: match d.version {
                        Version::V1 => "v1",
                        Version::V2 => "v2",
                    }
                    .to_string(),
                    path: d.path.clone(),
                    controllers: d.controllers.clone(),
                })
                .collect(),
            created: self.created.clone(),
            prune: self.prune.clone(),
        }
    }
}

impl CgroupHandle {
    /// Adds a device cgroup (chapter 07's rules) that the container keeps:
    /// on v1 its own directory in the `devices` hierarchy, removed with the
    /// rest; on v2 the container's own directory, which carries the program.
    pub fn add_devices(&mut self, kept: crate::devices::KeptDeviceCgroup) {
        if !self.dirs.iter().any(|d| d.path == kept.dir) {
            self.dirs.push(HandleDir {
                version: match kept.mechanism {
                    crate::devices::Mechanism::V1Files => "v1",
                    crate::devices::Mechanism::Ebpf => "v2",
                }
                .to_string(),
                path: kept.dir.clone(),
                controllers: vec!["devices".to_string()],
            });
        }
        for dir in kept.created {
            if !self.created.contains(&dir) {
                self.created.push(dir);
            }
        }
    }

    // ANCHOR: reopen
    /// A [`Cgroup`] for these directories that does *not* remove them when
    /// dropped: freeze, thaw, kill, join, stats, procs work as usual.
    pub fn open(&self, narrator: &Narrator) -> Cgroup {
        self.rebuild(narrator, true)
    }

    /// Kills what is left inside and removes the directories (and the
    /// default parent if empty). Directories already gone are fine.
    pub fn remove(&self, narrator: &Narrator) -> Result<(), CgroupError> {
        self.rebuild(narrator, false).remove()
    }
    // ANCHOR_END: reopen

    fn rebuild(&self, narrator: &Narrator, removed: bool) -> Cgroup {
        Cgroup {
            kind: match self.layout.as_str() {
                "unified" => LayoutKind::Unified,
                "legacy" => LayoutKind::Legacy,
                _ => LayoutKind::Hybrid,
            },
            id: self.id.clone(),
            dirs: self
                .dirs
                .iter()
                .map(|d| CgroupDir {
                    version: if d.version == "v2" {
                        Version::V2
                    } else {
                        Version::V1
                    },
                    path: d.path.clone(),
                    controllers: d.controllers.clone(),
                })
                .collect(),
            created: self.created.clone(),
            prune: self.prune.clone(),
            narrator: narrator.clone(),
            removed,
            // The process that made it is gone; its processes own it now.
            locks: Vec::new(),
        }
    }
}

impl Cgroup {
    /// cgroup v2's files by name, as an OCI config's `linux.resources.unified`
    /// gives them (`"memory.high": "64M"`): written as they are, into the v2
    /// directory. The name must be a plain file name.
    pub fn write_unified(&self, file: &str, value: &str) -> Result<(), CgroupError> {
        if file.is_empty() || file.contains('/') || file.starts_with('.') {
            return Err(CgroupError::Invalid {
                what: "unified cgroup file",
                value: file.to_string(),
                expected: "a file name of the cgroup directory, e.g. memory.high",
            });
        }
        let Some(dir) = self.dirs.iter().find(|d| d.version == Version::V2) else {
            return Err(CgroupError::Invalid {
                what: "unified cgroup file",
                value: file.to_string(),
                expected: "a host where the container's cgroup is on cgroup v2 (this one uses v1 for its controllers)",
            });
        };
        crate::files::write(
            &dir.path,
            file,
            value,
            "a cgroup v2 setting passed through as given",
            &self.narrator,
        )
    }
}
