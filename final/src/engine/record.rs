//! What the engine remembers of a container, in docker's words.
//!
//! `container.json` is written once by `create` (what to run and with which
//! limits — docker's `Config` and `HostConfig`); `state.json` changes over
//! the container's life (docker's `State`), written by the CLI and the shim
//! under the container's lock.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A bind mount (`-v HOST:CTR[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
}

/// docker's `Config`: what the container runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    pub image: String,
    /// The full argv: entrypoint + command, docker's rules applied.
    pub path_and_args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    /// `-u` as given (resolved against the rootfs when the container starts).
    pub user: String,
    pub hostname: String,
    pub tty: bool,
    pub open_stdin: bool,
}

/// One `--ulimit NAME=SOFT[:HARD]`, as docker's HostConfig.Ulimits holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    /// The short name: nofile, nproc, core…
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

impl From<ch07_security::Rlimit> for Ulimit {
    fn from(limit: ch07_security::Rlimit) -> Ulimit {
        Ulimit {
            name: ch07_security::rlimits::name_of(limit.resource).to_string(),
            soft: limit.soft,
            hard: limit.hard,
        }
    }
}

impl Ulimit {
    /// Back to the flag's text, for chapter 07's `SecurityFlags`.
    pub fn flag(&self) -> String {
        format!("{}={}:{}", self.name, self.soft, self.hard)
    }
}

/// docker's `HostConfig`: limits and how it is isolated.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    /// Bytes; 0 = no limit.
    pub memory: u64,
    /// CPUs × 10⁹, as docker's NanoCpus.
    pub nano_cpus: u64,
    pub pids_limit: Option<u64>,
    pub binds: Vec<Bind>,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<(String, String)>,
    pub readonly_rootfs: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt` values as given.
    pub security_opt: Vec<String>,
    /// `--group-add`: GIDs or group names of the image's /etc/group, as given.
    #[serde(default)]
    pub group_add: Vec<String>,
    /// `--ulimit`, checked and in docker's shape.
    #[serde(default)]
    pub ulimits: Vec<Ulimit>,
    pub privileged: bool,
    /// "bridge", "none" or "host".
    pub network_mode: String,
    /// `-p` as given ([IP:]HOSTPORT:CTRPORT[/PROTO]).
    #[serde(default)]
    pub port_bindings: Vec<String>,
    /// `--dns` servers.
    #[serde(default)]
    pub dns: Vec<String>,
    /// `--add-host NAME:IP` entries.
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    pub init: bool,
    /// "minibox" (chapter 08), "runc", "crun" or a path.
    pub runtime: String,
    pub auto_remove: bool,
}

/// The container as created: immutable after `create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The image as the user named it, and its resolved ID (config digest).
    pub image_ref: String,
    pub image_id: String,
    /// The image's layer directories, top first (overlay lowerdir order).
    pub layers: Vec<PathBuf>,
    pub config: RunConfig,
    pub host_config: HostConfig,
}

/// docker's `State.Status` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
    /// The shim died: we know the container is gone, not how it ended.
    Dead,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Dead => "dead",
        })
    }
}

/// A process we must be able to recognise later: its PID and start time
/// (a PID reused by another process has another start time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessId {
    pub fn of(pid: i32) -> Option<ProcessId> {
        let start_time = ch01_chroot::process::start_time(nix::unistd::Pid::from_raw(pid))?;
        Some(ProcessId { pid, start_time })
    }

    /// Still the same process, and not a zombie.
    pub fn is_alive(&self) -> bool {
        matches!(ch08_runtime::state::start_time(self.pid), Some((t, false)) if t == self.start_time)
    }
}

/// docker's `State`, plus where the pieces are on the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The container's first process on the host (0 when not running).
    pub pid: i32,
    pub init: Option<ProcessId>,
    pub shim: Option<ProcessId>,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The container's cgroup, recorded while it runs (for stats, OOM, cleanup).
    pub cgroup: Option<ch03_cgroups::CgroupHandle>,
    /// Set while the overlay is mounted on the bundle's rootfs.
    pub mounted: bool,
    /// Chapter 09's record while the container is on the bridge.
    #[serde(default)]
    pub network: Option<ch09_network::Attachment>,
}

/// docker's zero time, for a container that never started or finished.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl State {
    pub fn created() -> State {
        State {
            status: Status::Created,
            pid: 0,
            init: None,
            shim: None,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            cgroup: None,
            mounted: false,
            network: None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// The OCI runtime may still hold state for the container: a shim is
    /// recorded (it sets itself before `create` and clears itself after
    /// `delete`), or the container is said to run.
    pub fn runtime_may_know(&self) -> bool {
        self.shim.is_some() || self.init.is_some() || self.is_running()
    }
}
