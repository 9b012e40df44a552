//! Control: freeze, thaw and kill the whole group at once — the things
//! `docker pause`, `docker unpause` and `docker kill` do.

use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use crate::files;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long freezing may take before we call it stuck.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);

impl Cgroup {
    // ANCHOR: freeze
    // ANCHOR: freeze_only
    /// Stops every process of the group where it stands (no signal the
    /// processes could see or catch), and waits until the kernel says frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        let dir = self.freezer_dir()?;
        match dir.1 {
            // v2 (Linux 5.2): a core file in every cgroup; cgroup.events says when done.
            Version::V2 => {
                files::write(
                    dir.0,
                    "cgroup.freeze",
                    "1",
                    "freeze every task in the group",
                    &self.narrator,
                )?;
                wait_for(dir.0, "cgroup.events", "frozen 1", "freezing", None)
            }
            // v1: the freezer controller; FREEZING until every task stopped.
            Version::V1 => {
                files::write(
                    dir.0,
                    "freezer.state",
                    "FROZEN",
                    "freeze every task in the group",
                    &self.narrator,
                )?;
                wait_for(dir.0, "freezer.state", "FROZEN", "freezing", Some("FROZEN"))
            }
        }
    }

    // ANCHOR_END: freeze_only
    /// Lets the group run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        let dir = self.freezer_dir()?;
        match dir.1 {
            Version::V2 => {
                files::write(
                    dir.0,
                    "cgroup.freeze",
                    "0",
                    "thaw: the tasks run on",
                    &self.narrator,
                )?;
                wait_for(dir.0, "cgroup.events", "frozen 0", "thawing", None)
            }
            Version::V1 => {
                files::write(
                    dir.0,
                    "freezer.state",
                    "THAWED",
                    "thaw: the tasks run on",
                    &self.narrator,
                )?;
                wait_for(dir.0, "freezer.state", "THAWED", "thawing", None)
            }
        }
    }
    // ANCHOR_END: freeze

    /// True while the group is frozen.
    pub fn is_frozen(&self) -> bool {
        match self.freezer_dir() {
            Ok((dir, Version::V2)) => {
                files::read_key(&dir.join("cgroup.events"), "frozen") == Some(1)
            }
            Ok((dir, Version::V1)) => std::fs::read_to_string(dir.join("freezer.state"))
                .map(|s| s.trim() == "FROZEN")
                .unwrap_or(false),
            Err(_) => false,
        }
    }

    // ANCHOR: kill
    // ANCHOR: kill_v2
    /// SIGKILLs every process in the group, forks in flight included.
    pub fn kill(&self) -> Result<(), CgroupError> {
        // v2 (Linux 5.14): one write, and the kernel kills the whole subtree
        // atomically — no process can fork its way out.
        if let Some(dir) = self.dirs.iter().find(|d| d.version == Version::V2) {
            if dir.path.join("cgroup.kill").exists() {
                return files::write(
                    &dir.path,
                    "cgroup.kill",
                    "1",
                    "SIGKILL every task, atomically",
                    &self.narrator,
                );
            }
        }
        // ANCHOR_END: kill_v2
        // ANCHOR: kill_v1
        // v1 (or v2 before 5.14): read cgroup.procs and signal each PID. A
        // process could fork between the read and the kill, so freeze first:
        // frozen tasks cannot fork, and SIGKILL takes effect on thaw.
        let frozen = self.freeze().is_ok();
        let mut result = Ok(());
        for pid in self.procs() {
            match kill(pid, Signal::SIGKILL) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(errno) => {
                    result = Err(CgroupError::Signal {
                        pid: pid.as_raw(),
                        signal: Signal::SIGKILL,
                        errno,
                    })
                }
            }
        }
        self.narrator.syscall(
            "kill(PID, SIGKILL) for each PID in cgroup.procs",
            if frozen {
                "frozen first, so no fork escapes"
            } else {
                "no freezer: repeat until empty"
            },
        );
        if frozen {
            self.thaw()?;
        }
        result
    }
    // ANCHOR_END: kill_v1
    // ANCHOR_END: kill

    /// Kills the group and waits (bounded) until cgroup.procs is empty.
    pub fn kill_and_wait(&self, timeout: Duration) -> Result<(), CgroupError> {
        let start = Instant::now();
        loop {
            if self.procs().is_empty() {
                return Ok(());
            }
            self.kill()?;
            if start.elapsed() > timeout {
                let left: Vec<String> = self.procs().iter().map(Pid::to_string).collect();
                return Err(CgroupError::Timeout {
                    what: "killing the group",
                    path: self
                        .dirs
                        .first()
                        .map(|d| d.path.join("cgroup.procs"))
                        .unwrap_or_default(),
                    state: left.join(" "),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn freezer_dir(&self) -> Result<(&Path, Version), CgroupError> {
        self.dir_for("freezer")
            .map(|d| (d.path.as_path(), d.version))
            .ok_or_else(|| {
                CgroupError::NoFreezer(
                    "this host has no v1 freezer hierarchy and no cgroup v2 directory for this container (mount the freezer controller, or use a cgroup v2 host)".into(),
                )
            })
    }
}

/// Polls `dir/file` until it contains `wanted`; on v1, re-writes `rewrite`
/// while the state is still FREEZING (what runc does too).
fn wait_for(
    dir: &Path,
    file: &str,
    wanted: &str,
    what: &'static str,
    rewrite: Option<&str>,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let start = Instant::now();
    loop {
        let state = files::read(&path)?;
        if state.lines().any(|l| l.trim() == wanted) {
            return Ok(());
        }
        if start.elapsed() > FREEZE_TIMEOUT {
            return Err(CgroupError::Timeout {
                what,
                path,
                state: state.trim().to_string(),
                waited_ms: FREEZE_TIMEOUT.as_millis() as u64,
            });
        }
        if let Some(value) = rewrite {
            let _ = std::fs::write(&path, value);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
