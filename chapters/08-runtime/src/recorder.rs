//! Writing down what `create` made, as soon as it exists, so that a
//! `create` killed at any point leaves a container `delete --force` can
//! find and remove completely.

use crate::error::RuntimeError;
use crate::state::{start_time, Saved, Store, OCI_VERSION};
use nix::unistd::Pid;

/// The state being built by one `create`.
#[derive(Debug)]
pub struct Recorder<'a> {
    pub store: &'a Store,
    pub saved: Saved,
}

impl Recorder<'_> {
    /// Saves the current state (under the container's lock).
    pub fn save(&self) -> Result<(), RuntimeError> {
        let _lock = self.store.lock(&self.saved.id)?;
        self.store.save(&self.saved)
    }

    /// The container's first process exists: its PID and start time.
    pub fn record_pid(&mut self, pid: Pid) -> Result<(), RuntimeError> {
        self.saved.pid = Some(pid.as_raw());
        self.saved.pid_start = start_time(pid.as_raw()).map(|(t, _)| t);
        self.save()
    }

    /// The state the spec's hooks get on stdin.
    pub fn hook_state(&self, status: &str, pid: Option<Pid>) -> String {
        hook_state(&self.saved, status, pid.map(Pid::as_raw))
    }
}

/// `{"ociVersion", "id", "status", "pid", "bundle", "annotations"}`.
pub fn hook_state(saved: &Saved, status: &str, pid: Option<i32>) -> String {
    serde_json::json!({
        "ociVersion": OCI_VERSION,
        "id": saved.id,
        "status": status,
        "pid": pid.unwrap_or(0),
        "bundle": saved.bundle,
        "annotations": saved.annotations,
    })
    .to_string()
}
