//! The engine: images, containers and their state under `--root`, and the
//! operations the CLI (or, later, a Docker-API daemon) calls.
//!
//! ```text
//! minibox CLI ──► Engine (this module): images (ch05), pull/push (ch06), state, locking
//!                   │ writes bundle/config.json (image config + flags + ch07 defaults)
//!                   │ mounts the overlay rootfs (ch04) from the store's layers
//!                   ▼
//!                 shim (one per container: `minibox shim ID`)
//!                   │ create / start / kill / delete
//!                   ▼
//!                 OCI runtime: chapter 08 (or runc, crun) → kernel
//! ```

pub mod bundle;
pub mod cgroup;
pub mod commit;
pub mod containers;
pub mod create;
pub mod error;
pub mod exec;
pub mod ids;
pub mod images;
pub mod inspect;
pub mod lock;
pub mod logs;
pub mod names;
pub mod network;
pub mod process;
pub mod record;
pub mod rootfs;
pub mod runtime;
pub mod shim;
pub mod volumes;

use ch01_chroot::Narrator;
use containers::Containers;
use error::{EngineError, Result};
use nix::sys::signal::Signal;
use record::{Record, State, Status};
use runtime::{RuntimeClient, RuntimeKind};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The engine's default `--root`.
pub const DEFAULT_ROOT: &str = ch05_images::store::DEFAULT_ROOT;

/// One engine over one `--root`.
#[derive(Debug, Clone)]
pub struct Engine {
    pub root: PathBuf,
    pub containers: Containers,
    /// Trainer-mode narration (silent unless `--verbose`).
    pub narrator: Narrator,
    /// docker's progress lines on stderr (off with `--quiet`).
    pub chatty: bool,
}

impl Engine {
    pub fn new(root: &Path, narrator: Narrator) -> Engine {
        Engine {
            root: root.to_path_buf(),
            containers: Containers::new(root),
            narrator,
            chatty: true,
        }
    }

    /// Chapter 05's store, at the same root.
    pub fn store(&self) -> Result<ch05_images::Store> {
        Ok(ch05_images::Store::open_with(
            &self.root,
            Narrator::silent(),
        )?)
    }

    /// The runtime's state directory (its `--root`).
    pub fn runtime_root(&self) -> PathBuf {
        self.root.join("runtime")
    }

    pub fn runtime_client(&self, record: &Record) -> Result<RuntimeClient> {
        let kind = RuntimeKind::resolve(&record.host_config.runtime)?;
        Ok(RuntimeClient::new(
            kind,
            &self.runtime_root(),
            &self.containers.paths(&record.id).runtime_log(),
        ))
    }

    // ANCHOR: reconcile
    /// Recovery: a container whose shim is gone (killed, or the machine
    /// rebooted) is cleaned up now — its processes killed, the runtime's
    /// state, cgroup and overlay mount removed — and recorded as exited.
    /// Costs two reads of /proc when nothing is wrong.
    pub fn reconcile(&self, id: &str) -> Result<State> {
        let state = self.containers.state(id)?;
        let shim_gone = state.shim.is_some_and(|s| !s.is_alive());
        let orphan_mount = state.shim.is_none()
            && state.status != Status::Running
            && rootfs::is_mounted(&self.containers.paths(id).rootfs())
            && !self.starting(id);
        let lost = state.is_running() && state.shim.is_none();
        if !(shim_gone || lost || orphan_mount) {
            return Ok(state);
        }
        let _lock = self.containers.lock(id)?;
        let mut state = self.containers.state(id)?;
        if state.shim.is_some_and(|s| s.is_alive()) {
            return Ok(state);
        }
        let record = self.containers.load(id)?;
        self.cleanup_runtime(&record, &state);
        let was_running = state.is_running();
        let shim_pid = state.shim.map(|s| s.pid).unwrap_or(0);
        state.pid = 0;
        state.init = None;
        state.shim = None;
        state.mounted = false;
        state.network = None;
        if was_running {
            state.status = Status::Exited;
            state.exit_code = 137;
            state.error =
                format!("the shim (PID {shim_pid}) died: the container was killed and cleaned up");
            state.finished_at = ch08_runtime::time::now_rfc3339();
        }
        lock::write_json(&self.containers.paths(id).state(), &state)?;
        Ok(state)
    }
    // ANCHOR_END: reconcile

    /// True while a CLI is between mounting the rootfs and the shim's first record.
    fn starting(&self, id: &str) -> bool {
        let marker = self.containers.paths(id).dir.join("starting");
        std::fs::read_to_string(marker)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            .and_then(record::ProcessId::of)
            .is_some()
    }

    /// Kills what is left, deletes the runtime's state, removes the cgroup
    /// and unmounts the overlay — each step fine if already done.
    fn cleanup_runtime(&self, record: &Record, state: &State) {
        // The runtime knows the container from the shim's `create` to its
        // `delete`; the shim is recorded over all of that time. After a
        // finished shim's delete, a `kill --all` would only fail.
        if state.runtime_may_know() {
            if let Ok(runtime) = self.runtime_client(record) {
                let _ = runtime.kill(&record.id, Signal::SIGKILL, true);
                let _ = runtime.delete(&record.id, true);
            }
        }
        if let Some(init) = state.init.filter(|p| p.is_alive()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(init.pid), Signal::SIGKILL);
        }
        if let Some(handle) = &state.cgroup {
            if cgroup::exists(handle) {
                let _ = handle.remove(&Narrator::silent());
            }
        }
        network::detach(record, state, &self.narrator);
        let _ = rootfs::unmount(&self.containers.paths(&record.id));
    }

    /// Every container with its (reconciled) state, oldest first.
    pub fn list(&self) -> Vec<(Record, State)> {
        self.containers
            .ids()
            .into_iter()
            .filter_map(|id| {
                let record = self.containers.load(&id).ok()?;
                let state = self.reconcile(&id).ok()?;
                Some((record, state))
            })
            .collect()
    }

    // ANCHOR: prepare
    /// Before the shim: the overlay mounted on bundle/rootfs, the /etc files,
    /// the working directory made inside the rootfs, config.json written.
    pub fn prepare(&self, id: &str) -> Result<(Record, serde_json::Value)> {
        let state = self.reconcile(id)?;
        if state.is_running() || state.shim.is_some_and(|s| s.is_alive()) {
            return Err(EngineError::Conflict(format!(
                "container {} is already running",
                ids::short(id)
            )));
        }
        let record = self.containers.load(id)?;
        let runtime = self.runtime_client(&record)?;
        let paths = self.containers.paths(id);
        let marker = paths.dir.join("starting");
        std::fs::write(&marker, std::process::id().to_string())
            .map_err(EngineError::io("writing", &marker))?;
        rootfs::mount(&paths)?;
        let prepared = (|| {
            bundle::write_etc_files(&paths, &record.config.hostname)?;
            network::write_etc(&paths.dir, &record)?;
            let (spec, _) = bundle::build(&record, &paths, &runtime.kind)?;
            make_workdir(&paths.rootfs(), &record.config.working_dir)?;
            bundle::write(&spec, &paths.config_json())?;
            self.containers.update(id, |s| s.mounted = true)?;
            Ok(spec)
        })();
        match prepared {
            Ok(spec) => Ok((record, spec)),
            Err(err) => {
                let _ = rootfs::unmount(&paths);
                let _ = std::fs::remove_file(&marker);
                Err(err)
            }
        }
    }
    // ANCHOR_END: prepare

    /// The shim, started for a prepared container: returns the init's PID.
    pub fn launch(&self, id: &str, wait_start: bool) -> Result<i32> {
        let launched = shim::spawn(self, id, wait_start);
        let _ = std::fs::remove_file(self.containers.paths(id).dir.join("starting"));
        launched
    }

    /// `start` without attaching: prepare, launch, and the shim starts it.
    pub fn start(&self, id: &str) -> Result<i32> {
        self.prepare(id)?;
        self.launch(id, false)
    }

    /// Waits (bounded) until the container's shim has exited — pidfd, no polling.
    pub fn wait_shim(&self, id: &str, timeout: Duration) -> bool {
        let Ok(state) = self.containers.state(id) else {
            return true; // removed (--rm): done
        };
        let Some(shim) = state.shim.filter(|s| s.is_alive()) else {
            return true;
        };
        wait_pid(shim.pid, timeout)
    }

    /// Waits (bounded) until the container's first process has ended.
    pub fn wait_init(&self, id: &str, timeout: Duration) -> bool {
        let Ok(state) = self.containers.state(id) else {
            return true;
        };
        match state.init.filter(|p| p.is_alive()) {
            Some(init) => wait_pid(init.pid, timeout),
            None => true,
        }
    }

    fn running(&self, id: &str) -> Result<(Record, State)> {
        let state = self.reconcile(id)?;
        let record = self.containers.load(id)?;
        if !state.is_running() {
            return Err(EngineError::Conflict(format!(
                "container {} is not running (status: {})",
                ids::short(id),
                state.status
            )));
        }
        Ok((record, state))
    }

    /// `kill [-s SIG]` (docker's default: KILL).
    pub fn kill(&self, id: &str, signal: Signal) -> Result<()> {
        let (record, _) = self.running(id)?;
        self.runtime_client(&record)?.kill(id, signal, false)
    }

    // ANCHOR: stop
    /// `stop [-t S]`: SIGTERM, and SIGKILL to every process of the
    /// container if it has not ended after S seconds (docker's 10).
    pub fn stop(&self, id: &str, timeout: Duration) -> Result<()> {
        let Ok((record, _)) = self.running(id) else {
            return Ok(()); // stopping a stopped container is fine, as in docker
        };
        let runtime = self.runtime_client(&record)?;
        let _ = runtime.kill(id, Signal::SIGTERM, false);
        if !self.wait_init(id, timeout) {
            self.narrator.step(&format!(
                "{} did not stop after {timeout:?}: SIGKILL",
                ids::short(id)
            ));
            let _ = runtime.kill(id, Signal::SIGKILL, true);
        }
        self.wait_shim(id, Duration::from_secs(10));
        if !self.containers.paths(id).dir.exists() {
            return Ok(()); // --rm: the shim removed it on the way out, as docker's does
        }
        self.reconcile(id)?;
        Ok(())
    }
    // ANCHOR_END: stop

    // ANCHOR: remove
    /// `rm [-f]`: nothing of the container stays — process, runtime state,
    /// cgroup, overlay mount, its directory.
    pub fn remove(&self, id: &str, force: bool) -> Result<()> {
        let state = self.reconcile(id)?;
        if state.is_running() {
            if !force {
                return Err(EngineError::Conflict(format!(
                    "cannot remove running container {}: stop it first, or use rm -f",
                    ids::short(id)
                )));
            }
            let record = self.containers.load(id)?;
            let _ = self
                .runtime_client(&record)?
                .kill(id, Signal::SIGKILL, true);
            if !self.wait_shim(id, Duration::from_secs(10)) {
                if let Some(shim) = self.containers.state(id)?.shim {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(shim.pid),
                        Signal::SIGKILL,
                    );
                }
            }
        }
        self.remove_files(id)
    }
    // ANCHOR_END: remove

    /// Under the global lock: the runtime's leftovers, the mount, the directory.
    pub fn remove_files(&self, id: &str) -> Result<()> {
        let _global = self.containers.global_lock()?;
        if let (Ok(record), Ok(state)) = (self.containers.load(id), self.containers.state(id)) {
            self.cleanup_runtime(&record, &state);
        }
        let paths = self.containers.paths(id);
        rootfs::unmount(&paths)?;
        self.containers.remove_dir(id)
    }
}

/// pidfd_open + poll: sleeps until `pid` ends or the timeout passes.
pub fn wait_pid(pid: i32, timeout: Duration) -> bool {
    let Some(fd) = shim::server::pidfd_open(pid) else {
        return true; // already gone
    };
    let mut fds = [libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        events: libc::POLLIN,
        revents: 0,
    }];
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // Safety: one valid pollfd.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                1,
                left.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        if n > 0 {
            return true;
        }
        if n == 0 || left.is_zero() {
            return false;
        }
    }
}

/// docker creates a missing working directory; inside the rootfs, by fd.
fn make_workdir(rootfs: &Path, workdir: &str) -> Result<()> {
    if workdir.is_empty() || workdir == "/" {
        return Ok(());
    }
    let root: std::os::fd::OwnedFd = std::fs::File::open(rootfs)
        .map_err(EngineError::io("opening", rootfs))?
        .into();
    ch08_runtime::inroot::mkdir_all_in(&root, Path::new(workdir))
        .map(drop)
        .map_err(|(path, errno)| {
            EngineError::Invalid(format!("creating the working directory {path}: {errno}"))
        })
}
