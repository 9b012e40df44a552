//! The container's state on disk, under `--root`: one directory per container.
//!
//! ```text
//! /run/minibox-runtime/web/
//! ├── state.json   what any later `state`, `kill`, `delete` needs (written atomically)
//! └── exec.fifo    exists from `create` until `start`: the container waits on it
//! ```
//!
//! Each call of the runtime is a new process, so nothing lives in memory
//! between them. Writers take an flock on the directory; state.json is
//! written to a temporary file and renamed, so a reader (or a runtime
//! killed mid-write) sees the old state or the new one, never half of one.

use crate::error::RuntimeError;
use ch03_cgroups::CgroupHandle;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default `--root`, as runc's is /run/runc.
pub const DEFAULT_ROOT: &str = "/run/minibox-runtime";

/// What we know of a container, saved in state.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    /// "creating", "created", "running" or "stopped" as last written; the
    /// live status is [`Saved::status`].
    pub status: String,
    /// The container's first process, on the host.
    pub pid: Option<i32>,
    /// Its start time (field 22 of /proc/PID/stat): a PID reused by another
    /// process after ours ended has another start time.
    pub pid_start: Option<u64>,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub annotations: HashMap<String, String>,
    pub cgroup: Option<CgroupHandle>,
    /// The config.json the container was created from (hooks, exec defaults).
    pub config: oci_spec::runtime::Spec,
}

/// The spec's state, as `state` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "HashMap::is_empty", default)]
    pub annotations: HashMap<String, String>,
    pub owner: String,
}

/// The OCI runtime spec version we implement.
pub const OCI_VERSION: &str = "1.0.2";

// ANCHOR: liveness
/// Field 22 of /proc/PID/stat (start time in clock ticks since boot) and
/// whether the process is a zombie.
pub fn start_time(pid: i32) -> Option<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The comm field (2nd) may hold spaces and ')': count from the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let zombie = fields.first() == Some(&"Z");
    Some((fields.get(22 - 3)?.parse().ok()?, zombie))
}

impl Saved {
    /// True while our container's first process runs: same PID *and* same start time.
    pub fn is_alive(&self) -> bool {
        match (self.pid, self.pid_start) {
            (Some(pid), Some(started)) => {
                matches!(start_time(pid), Some((now, false)) if now == started)
            }
            _ => false,
        }
    }
    // ANCHOR_END: liveness

    /// The live status: created (waiting at the exec FIFO), running, paused,
    /// stopped, or creating (a `create` still at work, or killed mid-way).
    pub fn status(&self, dir: &Path) -> String {
        if self.status == "creating" && self.pid.is_none() {
            return "creating".into();
        }
        if !self.is_alive() {
            return "stopped".into();
        }
        if self.status == "creating" {
            return "creating".into();
        }
        if dir.join("exec.fifo").exists() {
            return "created".into();
        }
        if let Some(handle) = &self.cgroup {
            if handle.open(&ch01_chroot::Narrator::silent()).is_frozen() {
                return "paused".into();
            }
        }
        "running".into()
    }

    pub fn report(&self, dir: &Path) -> Report {
        let status = self.status(dir);
        Report {
            oci_version: OCI_VERSION.into(),
            id: self.id.clone(),
            pid: if status == "stopped" {
                0
            } else {
                self.pid.unwrap_or(0)
            },
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
            owner: String::new(),
        }
    }
}

/// The directory of all containers (`--root`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Container ids become directory names: nothing that could climb out.
    pub fn check_id(id: &str) -> Result<(), RuntimeError> {
        let ok = !id.is_empty()
            && id.len() <= 1024
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(())
        } else {
            Err(RuntimeError::BadId(id.to_string()))
        }
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Makes the container's directory; EEXIST means the id is taken.
    pub fn make_dir(&self, id: &str) -> Result<PathBuf, RuntimeError> {
        Self::check_id(id)?;
        std::fs::create_dir_all(&self.root).map_err(RuntimeError::io("creating", &self.root))?;
        let dir = self.dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(RuntimeError::AlreadyExists(id.to_string()))
            }
            Err(err) => Err(RuntimeError::io("creating", &dir)(err)),
        }
    }

    // ANCHOR: lock
    /// An exclusive flock on the container's directory, released on drop
    /// (and by the kernel if we are killed).
    pub fn lock(&self, id: &str) -> Result<Flock<File>, RuntimeError> {
        Self::check_id(id)?;
        let dir = self.dir(id);
        let file = File::open(&dir).map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => RuntimeError::NotFound(id.to_string()),
            _ => RuntimeError::io("opening", &dir)(err),
        })?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| RuntimeError::sys("flock")(errno))
    }
    // ANCHOR_END: lock

    /// Reads state.json. A container whose `create` died before writing it
    /// has a directory and no state: `delete --force` removes that.
    pub fn load(&self, id: &str) -> Result<Saved, RuntimeError> {
        Self::check_id(id)?;
        let dir = self.dir(id);
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound if !dir.exists() => RuntimeError::NotFound(id.into()),
            _ => RuntimeError::io("reading", &path)(err),
        })?;
        serde_json::from_str(&text).map_err(|err| RuntimeError::Config {
            path,
            message: err.to_string(),
        })
    }

    // ANCHOR: save
    /// Writes state.json atomically: a new file, fsync, rename over the old.
    pub fn save(&self, saved: &Saved) -> Result<(), RuntimeError> {
        let dir = self.dir(&saved.id);
        let tmp = dir.join(".state.json.tmp");
        let text = serde_json::to_vec_pretty(saved).map_err(|err| RuntimeError::Config {
            path: tmp.clone(),
            message: err.to_string(),
        })?;
        let mut file = File::create(&tmp).map_err(RuntimeError::io("creating", &tmp))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(RuntimeError::io("writing", &tmp))?;
        let path = dir.join("state.json");
        std::fs::rename(&tmp, &path).map_err(RuntimeError::io("renaming into", &path))
    }
    // ANCHOR_END: save

    /// Every container id under the root.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.root)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|id| Self::check_id(id).is_ok())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Removes the container's directory (state.json, the FIFO).
    pub fn remove_dir(&self, id: &str) -> Result<(), RuntimeError> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(RuntimeError::io("removing", &dir)(err)),
        }
    }
}

/// Writes a PID file the way engines read it: the number, no newline,
/// atomically (conmon and containerd poll for it).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), RuntimeError> {
    let tmp = path.with_extension("minibox-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(RuntimeError::io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(RuntimeError::io("renaming into", path))
}
