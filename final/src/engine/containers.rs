//! The containers under `--root`: one directory each, found by id, by a
//! unique id prefix or by name.
//!
//! ```text
//! /var/lib/minibox/containers/
//! ├── .lock                     flock'd while a container is added or removed (names stay unique)
//! └── 3f9c…e1/                  the full 64-hex id
//!     ├── container.json        docker's Config + HostConfig: written once by create
//!     ├── state.json            docker's State: status, PIDs, exit code, OOMKilled, times
//!     ├── lock                  flock'd while state.json changes
//!     ├── overlay-XXXX/         chapter 04's directories: upper/ (the container's changes), work/, l/
//!     ├── bundle/config.json    the OCI bundle the runtime reads …
//!     ├── bundle/rootfs/        … and its root: the overlay, mounted here while the container runs
//!     ├── hostname, hosts, resolv.conf    bind-mounted over the image's, as docker does
//!     ├── container-json.log    the container's output, one JSON object per line (docker's json-file)
//!     ├── shim.log              what the shim had to say (errors after the CLI left)
//!     └── runtime.log           the OCI runtime's own log (--log, JSON)
//! ```

use super::error::{EngineError, Result};
use super::ids;
use super::lock;
use super::names;
use super::record::{Record, State};
use nix::fcntl::Flock;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Where one container's files are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
    /// `<root>/run`: the sockets (a unix socket path must stay under 108 bytes).
    run_dir: PathBuf,
    id: String,
}

impl Paths {
    pub fn record(&self) -> PathBuf {
        self.dir.join("container.json")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("bundle/rootfs")
    }
    pub fn config_json(&self) -> PathBuf {
        self.dir.join("bundle/config.json")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("container-json.log")
    }
    pub fn shim_log(&self) -> PathBuf {
        self.dir.join("shim.log")
    }
    pub fn runtime_log(&self) -> PathBuf {
        self.dir.join("runtime.log")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("init.pid")
    }
    /// The overlay's state directory (chapter 04's StateDir), made by create.
    pub fn overlay(&self) -> Option<PathBuf> {
        std::fs::read_dir(&self.dir)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("overlay-"))
            .map(|e| e.path())
    }
    /// Where the shim listens for `attach` (the CLI of a foreground run).
    pub fn attach_socket(&self) -> PathBuf {
        self.run_dir
            .join(format!("{}.attach", &self.id[..16.min(self.id.len())]))
    }
    /// Where the runtime sends the pty's master (`--console-socket`).
    pub fn console_socket(&self) -> PathBuf {
        self.run_dir
            .join(format!("{}.console", &self.id[..16.min(self.id.len())]))
    }
    pub fn exec_console_socket(&self, n: u32) -> PathBuf {
        self.run_dir
            .join(format!("{}.exec{n}", &self.id[..16.min(self.id.len())]))
    }
}

/// The directory of all containers.
#[derive(Debug, Clone)]
pub struct Containers {
    dir: PathBuf,
    run_dir: PathBuf,
}

impl Containers {
    pub fn new(root: &Path) -> Containers {
        Containers {
            dir: root.join("containers"),
            run_dir: root.join("run"),
        }
    }

    pub fn paths(&self, id: &str) -> Paths {
        Paths {
            dir: self.dir.join(id),
            run_dir: self.run_dir.clone(),
            id: id.to_string(),
        }
    }

    fn ensure_dirs(&self) -> Result<()> {
        for dir in [&self.dir, &self.run_dir] {
            std::fs::create_dir_all(dir).map_err(EngineError::io("creating", dir))?;
        }
        Ok(())
    }

    /// The lock held while containers are added or removed.
    pub fn global_lock(&self) -> Result<Flock<File>> {
        self.ensure_dirs()?;
        lock::exclusive(&self.dir.join(".lock"))
    }

    // ANCHOR: add
    /// Adds a container: under the global lock the name is checked against
    /// every other container's, then the directory and its two files are
    /// written. A clash names the container that has the name.
    pub fn add(&self, record: &mut Record, name: Option<&str>) -> Result<()> {
        let _global = self.global_lock()?;
        let taken: Vec<(String, String)> = self
            .ids()
            .into_iter()
            .filter_map(|id| self.load(&id).ok().map(|r| (r.name, id)))
            .collect();
        record.name = match name {
            Some(name) => {
                names::check(name)?;
                if let Some((_, other)) = taken.iter().find(|(n, _)| n == name) {
                    return Err(EngineError::Conflict(format!(
                        "the container name \"/{name}\" is already in use by container {other}: remove (or rename) that container to reuse the name"
                    )));
                }
                name.to_string()
            }
            None => (0..)
                .map(|attempt| names::generate(&record.id, attempt))
                .find(|candidate| !taken.iter().any(|(n, _)| n == candidate))
                .unwrap_or_else(|| record.id.clone()),
        };
        let paths = self.paths(&record.id);
        std::fs::create_dir(&paths.dir).map_err(EngineError::io("creating", &paths.dir))?;
        let written = lock::write_json(&paths.record(), record)
            .and_then(|()| lock::write_json(&paths.state(), &State::created()));
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&paths.dir);
        }
        written
    }
    // ANCHOR_END: add

    /// Every container id, oldest first.
    pub fn ids(&self) -> Vec<String> {
        let mut found: Vec<(String, String)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.len() == 64 && ids::is_hex_prefix(name))
            .filter_map(|id| {
                let created = self.load(&id).ok()?.created;
                Some((created, id))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, id)| id).collect()
    }

    pub fn load(&self, id: &str) -> Result<Record> {
        lock::read_json(&self.paths(id).record())
    }

    pub fn state(&self, id: &str) -> Result<State> {
        lock::read_json(&self.paths(id).state())
    }

    /// The container's own lock.
    pub fn lock(&self, id: &str) -> Result<Flock<File>> {
        let paths = self.paths(id);
        if !paths.dir.is_dir() {
            return Err(EngineError::NotFound(format!("no such container: {id}")));
        }
        lock::exclusive(&paths.lock())
    }

    /// Changes state.json under the container's lock; returns the new state.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut State)) -> Result<State> {
        let _lock = self.lock(id)?;
        let mut state = self.state(id)?;
        change(&mut state);
        lock::write_json(&self.paths(id).state(), &state)?;
        Ok(state)
    }

    // ANCHOR: find
    /// docker's lookup: a full id, then an exact name, then a unique id prefix.
    pub fn find(&self, wanted: &str) -> Result<String> {
        let wanted = wanted.strip_prefix('/').unwrap_or(wanted);
        let all = self.ids();
        if all.iter().any(|id| id == wanted) {
            return Ok(wanted.to_string());
        }
        if let Some(id) = all
            .iter()
            .find(|id| self.load(id).is_ok_and(|r| r.name == wanted))
        {
            return Ok(id.clone());
        }
        let matches: Vec<&String> = if ids::is_hex_prefix(wanted) {
            all.iter().filter(|id| id.starts_with(wanted)).collect()
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(EngineError::NotFound(format!(
                "no such container: {wanted} (`minibox ps -a` lists them)"
            ))),
            _ => Err(EngineError::Invalid(format!(
                "{wanted} matches {} containers: give more of the id",
                matches.len()
            ))),
        }
    }
    // ANCHOR_END: find

    /// Removes the container's directory (the caller holds the global lock).
    pub fn remove_dir(&self, id: &str) -> Result<()> {
        let paths = self.paths(id);
        for socket in [paths.attach_socket(), paths.console_socket()] {
            let _ = std::fs::remove_file(socket);
        }
        match std::fs::remove_dir_all(&paths.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::io("removing", &paths.dir)(e)),
        }
    }
}
