//! Locks and atomic files: how concurrent `minibox` commands stay safe.
//!
//! - `containers/.lock`, flock(2)ed exclusively while a container is added
//!   or removed, so two `run --name web` cannot both take the name;
//! - `containers/<id>/lock`, flock(2)ed while that container's state changes;
//! - every JSON file is written to a temporary file, fsync'd and renamed
//!   over the old one: a reader (`ps`, `inspect`) never takes a lock and
//!   still never sees half a file, even from a writer killed mid-way.

use super::error::{EngineError, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// An exclusive flock on `path` (created if missing), released on drop and
/// by the kernel if we are killed.
pub fn exclusive(path: &Path) -> Result<Flock<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(EngineError::io("opening the lock", path))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| EngineError::sys("flock")(errno))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| EngineError::Io {
        what: "encoding",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    write_atomic(path, &text)
}

/// tmp file, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = File::create(&tmp).map_err(EngineError::io("creating", &tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(EngineError::io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(EngineError::io("renaming into", path))
}

/// Reads a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read(path).map_err(EngineError::io("reading", path))?;
    serde_json::from_slice(&text).map_err(|e| EngineError::Io {
        what: "parsing",
        path: path.to_path_buf(),
        source: e.into(),
    })
}
