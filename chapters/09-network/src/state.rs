//! The network's state: its subnet and every lease, in one JSON file per
//! bridge, changed only under a lock.
//!
//! Two containers starting at once must never get the same address, and a
//! container killed with `kill -9` must not keep its address for ever. So
//! every change is read–modify–write under flock(2) on a lock file beside
//! the state, written atomically (a temporary file renamed over the old
//! one): a crash leaves the old state or the new, never half of one. Each
//! lease records its owner (a PID and its start time); a lease whose owner
//! is gone is stale, and the next run reclaims it.

use crate::attach::Attachment;
use crate::error::NetworkError;
use crate::subnet::Subnet;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the state of networks lives when nobody says otherwise: one
/// directory per network namespace (the "host" the bridges live in), named
/// by its cookie — the same bridge name in two namespaces is two networks.
pub const STATE_ROOT: &str = "/run/minibox/net";

/// One network: a bridge, its subnet, and the containers on it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NetworkState {
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// Whether we created the bridge (and so may delete it). A bridge that
    /// was there before us — the user's own — is left in place.
    pub created_bridge: bool,
    /// Each lease is the whole record of what was set up for that container.
    pub leases: Vec<Attachment>,
}

impl NetworkState {
    // ANCHOR: free_address
    /// The lowest address not taken: not the network, not the gateway, not
    /// the broadcast address, and not leased.
    pub fn free_address(&self) -> Result<Ipv4Addr, NetworkError> {
        (2..self.subnet.size() - 1)
            .map(|n| self.subnet.host(n))
            .find(|ip| *ip != self.gateway && !self.leases.iter().any(|l| l.ip == *ip))
            .ok_or_else(|| NetworkError::SubnetFull {
                subnet: self.subnet.to_string(),
                leased: self.leases.len(),
            })
    }
    // ANCHOR_END: free_address
}

/// The lock on one network's state, held until dropped.
#[derive(Debug)]
pub struct Locked {
    _lock: Flock<File>,
    lock_path: PathBuf,
    state_path: PathBuf,
}

// ANCHOR: lock
/// Takes the lock of `bridge`'s state in `dir`, waiting for other runs.
pub fn lock(dir: &Path, bridge: &str) -> Result<Locked, NetworkError> {
    let lock_path = dir.join(format!("{bridge}.lock"));
    loop {
        std::fs::create_dir_all(dir).map_err(NetworkError::io("creating", dir))?;
        let file = match File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
        {
            Ok(file) => file,
            // The directory went away between the two calls (the last run removed it): again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(NetworkError::io("opening", &lock_path)(e)),
        };
        // flock(LOCK_EX): blocks while another run holds it; released on close, and on a crash.
        let locked = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
            NetworkError::io("locking", &lock_path)(std::io::Error::from(errno))
        })?;
        // The last run to leave removes the lock file while holding it: if
        // ours is no longer the file at that path, we locked a deleted file.
        let ours = locked.metadata().map(|m| m.ino()).ok();
        let now = std::fs::metadata(&lock_path).map(|m| m.ino()).ok();
        if ours.is_some() && ours == now {
            return Ok(Locked {
                _lock: locked,
                state_path: dir.join(format!("{bridge}.json")),
                lock_path,
            });
        }
    }
}
// ANCHOR_END: lock

impl Locked {
    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// The state, or `None` if this network does not exist yet.
    pub fn load(&self) -> Result<Option<NetworkState>, NetworkError> {
        let text = match std::fs::read_to_string(&self.state_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(NetworkError::io("reading", &self.state_path)(e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| NetworkError::BadState {
                path: self.state_path.clone(),
                reason: e.to_string(),
            })
    }

    // ANCHOR: save
    /// Writes the state atomically: a temporary file, fsync, rename.
    pub fn save(&self, state: &NetworkState) -> Result<(), NetworkError> {
        let tmp = self.state_path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| NetworkError::BadState {
            path: self.state_path.clone(),
            reason: e.to_string(),
        })?;
        let mut file = File::create(&tmp).map_err(NetworkError::io("creating", &tmp))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(NetworkError::io("writing", &tmp))?;
        std::fs::rename(&tmp, &self.state_path).map_err(NetworkError::io("renaming", &tmp))
    }
    // ANCHOR_END: save

    /// After a failed start: the files go if no container is on the network.
    pub fn discard_if_unused(&self) {
        if self
            .load()
            .ok()
            .flatten()
            .map_or(true, |s| s.leases.is_empty())
        {
            self.remove_files();
        }
    }

    /// The network is gone: its state file, its lock file (we still hold the
    /// lock: a waiter sees the file was replaced and starts over) and, if
    /// empty, the namespace's directory.
    pub fn remove(self) -> Result<(), NetworkError> {
        match std::fs::remove_file(&self.state_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(NetworkError::io("removing", &self.state_path)(e)),
        }
        self.remove_files();
        Ok(())
    }

    fn remove_files(&self) {
        let _ = std::fs::remove_file(&self.state_path);
        let _ = std::fs::remove_file(&self.lock_path);
        // The containers' directory (see `etc_files`), then the namespace's:
        // each removal fails, harmlessly, while something else is in it.
        let _ = std::fs::remove_dir(self.state_path.with_extension(""));
        if let Some(dir) = self.lock_path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
