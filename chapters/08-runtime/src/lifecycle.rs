//! The OCI lifecycle: create → start → (kill) → delete, and what surrounds it.
//!
//! Every operation is a fresh process that finds the container through its
//! state directory; nothing is kept in memory between calls. This is the
//! API the engine calls (or it runs the binary, as containerd does).

use crate::config;
use crate::container_hooks::OciHooks;
use crate::error::RuntimeError;
use crate::log::RuntimeLog;
use crate::recorder::{hook_state, Recorder};
use crate::state::{write_pid_file, Report, Saved, Store};
use ch01_chroot::Exit;
use ch02_namespaces::gate;
use ch03_cgroups::devices::DeviceCgroup;
use ch03_cgroups::{Cgroup, CgroupLayout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `create` may be given besides the bundle.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

/// The runtime: a state root and a log.
#[derive(Debug)]
pub struct Runtime {
    pub store: Store,
    pub log: RuntimeLog,
}

/// Removes a half-made container's state directory unless disarmed.
struct DirGuard<'a> {
    store: &'a Store,
    id: String,
    armed: bool,
}

impl Drop for DirGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.store.remove_dir(&self.id);
        }
    }
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>, log: RuntimeLog) -> Self {
        Runtime {
            store: Store::new(root),
            log,
        }
    }

    // ANCHOR: create
    /// `create`: the container is built and its program waits at the exec
    /// FIFO. Returns its PID; the process outlives us.
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        options: &CreateOptions,
    ) -> Result<Pid, RuntimeError> {
        let (container, _) = self.create_inner(id, bundle, options, false)?;
        Ok(container.pid())
    }

    fn create_inner(
        &self,
        id: &str,
        bundle: &Path,
        options: &CreateOptions,
        own_terminal: bool,
    ) -> Result<(ch02_namespaces::Container, PathBuf), RuntimeError> {
        Store::check_id(id)?;
        let bundle = std::fs::canonicalize(bundle).map_err(|e| RuntimeError::Config {
            path: bundle.join("config.json"),
            message: e.to_string(),
        })?;
        let narrator = self.log.narrator();
        // 1. Read and check the whole config before anything exists.
        let mut plan = config::plan(id, &bundle, config::load(&bundle)?, &self.log)?;
        if plan.terminal && options.console_socket.is_none() && !own_terminal {
            return Err(RuntimeError::invalid(
                "process.terminal",
                "a terminal needs --console-socket (where to send the pty master), or use `run`",
            ));
        }
        // 2. The state directory, and a first state.json.
        let dir = self.store.make_dir(id)?;
        let mut guard = DirGuard {
            store: &self.store,
            id: id.to_string(),
            armed: true,
        };
        let mut recorder = Recorder {
            store: &self.store,
            saved: Saved {
                id: id.to_string(),
                status: "creating".into(),
                pid: None,
                pid_start: None,
                bundle: bundle.clone(),
                rootfs: plan.container.rootfs.clone(),
                created: crate::time::now_rfc3339(),
                annotations: plan.spec.annotations().clone().unwrap_or_default(),
                cgroup: None,
                config: plan.spec.clone(),
            },
        };
        recorder.save()?;
        // 3. The exec FIFO the container will wait on.
        let fifo = dir.join("exec.fifo");
        gate::make_exec_fifo(&fifo).map_err(RuntimeError::sys("mkfifo"))?;
        plan.container.start_gate = Some(fifo);
        narrator.syscall(
            &format!("mkfifo({}/exec.fifo)", dir.display()),
            "where the container will wait for `start`",
        );
        // 4. The cgroup (an owning guard until the container exists), recorded at once.
        let layout = CgroupLayout::detect().map_err(ch03_cgroups::CgroupError::from)?;
        let cgroup = Cgroup::create(&layout, &plan.placement, &plan.limits, &narrator)?;
        recorder.saved.cgroup = Some(cgroup.handle());
        recorder.save()?;
        // Chapter 07's device rules, in chapter 03's device cgroup (v1 files or v2 eBPF).
        let devices = DeviceCgroup::create(
            &layout,
            &plan.placement,
            &plan.restrictions.device_rules,
            &narrator,
        )?;
        let mut handle = cgroup.handle();
        handle.add_devices(devices.kept());
        recorder.saved.cgroup = Some(handle);
        recorder.save()?;
        // 5. The terminal: we connect to the engine's socket here, on the
        //    host; the container opens the pty and sends its master.
        let console = match (&options.console_socket, plan.terminal) {
            (Some(socket), true) => Some(crate::terminal::connect_console_socket(socket)?),
            _ => None,
        };
        if let Some(sock) = &console {
            plan.process.terminal = Some(crate::terminal::TerminalRequest {
                socket: std::os::fd::AsRawFd::as_raw_fd(sock),
                size: plan.console_size,
                console: true,
            });
        }
        // ANCHOR: create_spawn
        // 6. Clone: chapter 02, with the config plugged into its hooks. It
        //    enters the namespaces given by path and makes the time
        //    namespace with offsets first: the clone is born in them.
        let mut hooks = OciHooks {
            plan: &plan,
            cgroup: &cgroup,
            devices: &devices,
            recorder,
            narrator: &narrator,
        };
        let container = ch02_namespaces::spawn(&plan.container, &mut hooks, &narrator)?;
        drop(console);
        let mut recorder = hooks.recorder;
        recorder.saved.status = "created".into();
        recorder.save()?;
        if let Some(pid_file) = &options.pid_file {
            write_pid_file(pid_file, container.pid().as_raw())?;
        }
        // The container exists: from now on the cgroup and the directory are its own.
        let _ = cgroup.into_handle();
        let _ = devices.into_kept();
        guard.armed = false;
        // ANCHOR_END: create_spawn
        self.log.info(&format!(
            "created {id}: PID {} waits at the exec FIFO",
            container.pid()
        ));
        Ok((container, dir))
    }
    // ANCHOR_END: create

    // ANCHOR: start_release
    /// `start`: opens the exec FIFO; the container's program runs.
    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let lock = self.store.lock(id)?;
        let mut saved = self.store.load(id)?;
        let dir = self.store.dir(id);
        let status = saved.status(&dir);
        if status != "created" {
            return Err(RuntimeError::WrongState {
                id: id.into(),
                status,
                what: "start",
                needed: "created",
            });
        }
        let fifo = dir.join("exec.fifo");
        gate::release(&fifo, || saved.is_alive()).map_err(|errno| match errno {
            nix::errno::Errno::ESRCH => RuntimeError::WrongState {
                id: id.into(),
                status: "stopped".into(),
                what: "start",
                needed: "created (its process died before start: `delete` it)",
            },
            errno => RuntimeError::sys("opening the exec FIFO")(errno),
        })?;
        self.log.narrator().syscall(
            "open(exec.fifo, O_RDONLY)",
            "the container's program goes on to execve",
        );
        // ANCHOR_END: start_release
        // ANCHOR: start_running
        let _ = std::fs::remove_file(&fifo);
        saved.status = "running".into();
        self.store.save(&saved)?;
        drop(lock);
        if let Some(hooks) = saved.config.hooks() {
            let state = hook_state(&saved, "running", saved.pid);
            if let Err(err) = crate::hooks::run_all(
                "poststart",
                hooks.poststart().as_deref().unwrap_or(&[]),
                &state,
            ) {
                self.log.warn(&err.to_string());
            }
        }
        Ok(())
    }
    // ANCHOR_END: start_running

    /// `run`: create, start, wait, delete — one process that stays the
    /// container's parent and forwards the signals it gets.
    pub fn run(
        &self,
        id: &str,
        bundle: &Path,
        options: &CreateOptions,
    ) -> Result<Exit, RuntimeError> {
        let forwarded = crate::forward::block_signals()?;
        let (container, _) = match self.create_inner(id, bundle, options, true) {
            Ok(made) => made,
            Err(err) => {
                crate::forward::unblock(&forwarded);
                return Err(err);
            }
        };
        let started = self.start(id);
        let exit = match started {
            Ok(()) => crate::forward::wait_forwarding(container, &forwarded),
            Err(err) => {
                let _ = self.delete(id, true);
                return Err(err);
            }
        };
        let deleted = self.delete(id, true);
        let exit = exit?;
        deleted?;
        Ok(exit)
    }

    /// The spec's state of one container.
    pub fn state(&self, id: &str) -> Result<Report, RuntimeError> {
        let saved = self.store.load(id)?;
        Ok(saved.report(&self.store.dir(id)))
    }

    /// Every container's state.
    pub fn list(&self) -> Vec<Report> {
        self.store
            .ids()
            .iter()
            .filter_map(|id| self.state(id).ok())
            .collect()
    }

    // ANCHOR: kill
    /// `kill`: a signal to the container's first process — or, with `all`,
    /// to every process in its cgroup.
    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<(), RuntimeError> {
        let saved = self.store.load(id)?;
        if all {
            if let Some(handle) = &saved.cgroup {
                for pid in handle.open(&self.log.narrator()).procs() {
                    let _ = kill(pid, signal);
                }
                return Ok(());
            }
        }
        // The start time check: never signal a process that merely reuses the PID.
        let (Some(pid), true) = (saved.pid, saved.is_alive()) else {
            return Err(RuntimeError::WrongState {
                id: id.into(),
                status: "stopped".into(),
                what: "kill",
                needed: "created or running",
            });
        };
        kill(Pid::from_raw(pid), signal).map_err(RuntimeError::sys("kill"))?;
        self.log.info(&format!("sent {signal} to {id} (PID {pid})"));
        Ok(())
    }
    // ANCHOR_END: kill

    // ANCHOR: delete_check
    /// `delete`: removes a stopped (or never started) container; `force`
    /// kills a running one first. Afterwards nothing of it is left: no
    /// process, no cgroup, no state directory.
    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        Store::check_id(id)?;
        let dir = self.store.dir(id);
        if !dir.exists() {
            return Err(RuntimeError::NotFound(id.into()));
        }
        let lock = self.store.lock(id)?;
        let saved = match self.store.load(id) {
            Ok(saved) => saved,
            // A `create` killed before it wrote anything: only the directory exists.
            Err(_) if force => {
                drop(lock);
                return self.store.remove_dir(id);
            }
            Err(err) => return Err(err),
        };
        let status = saved.status(&dir);
        if matches!(status.as_str(), "running" | "paused") && !force {
            return Err(RuntimeError::WrongState {
                id: id.into(),
                status,
                what: "delete",
                needed: "stopped (or use --force)",
            });
        }
        // ANCHOR_END: delete_check
        // ANCHOR: delete_teardown
        let narrator = self.log.narrator();
        if let (Some(pid), true) = (saved.pid, saved.is_alive()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if let Some(handle) = &saved.cgroup {
            // Thaw first: a frozen process never acts on its SIGKILL.
            let cgroup = handle.open(&narrator);
            if cgroup.is_frozen() {
                let _ = cgroup.thaw();
            }
            handle.remove(&narrator)?;
        }
        wait_until_gone(&saved, Duration::from_secs(5));
        if let Some(hooks) = saved.config.hooks() {
            let state = hook_state(&saved, "stopped", None);
            if let Err(err) = crate::hooks::run_all(
                "poststop",
                hooks.poststop().as_deref().unwrap_or(&[]),
                &state,
            ) {
                self.log.warn(&err.to_string());
            }
        }
        drop(lock);
        self.store.remove_dir(id)?;
        self.log.info(&format!("deleted {id}"));
        Ok(())
    }
    // ANCHOR_END: delete_teardown

    /// `pause` / `resume`: chapter 03's freezer on the container's cgroup.
    pub fn freeze(&self, id: &str, frozen: bool) -> Result<(), RuntimeError> {
        let saved = self.store.load(id)?;
        let status = saved.status(&self.store.dir(id));
        let needed = if frozen { "running" } else { "paused" };
        if status != needed {
            return Err(RuntimeError::WrongState {
                id: id.into(),
                status,
                what: if frozen { "pause" } else { "resume" },
                needed,
            });
        }
        let handle = saved
            .cgroup
            .as_ref()
            .ok_or_else(|| RuntimeError::NotFound(id.into()))?;
        let cgroup = handle.open(&self.log.narrator());
        if frozen {
            cgroup.freeze()?
        } else {
            cgroup.thaw()?
        }
        Ok(())
    }

    /// `ps`: the host PIDs in the container's cgroup.
    pub fn pids(&self, id: &str) -> Result<Vec<Pid>, RuntimeError> {
        let saved = self.store.load(id)?;
        Ok(saved
            .cgroup
            .as_ref()
            .map(|h| h.open(&ch01_chroot::Narrator::silent()).procs())
            .unwrap_or_default())
    }

    /// The saved state, for `exec`.
    pub fn load(&self, id: &str) -> Result<Saved, RuntimeError> {
        self.store.load(id)
    }
}

/// Joins the namespaces config.json gives by path (`/proc/PID/ns/net`,
/// `/run/netns/x`): setns in this process, so the clone is born in them.
/// After SIGKILL the process may be someone else's child to reap: poll
/// (bounded) until it is gone or a zombie.
fn wait_until_gone(saved: &Saved, timeout: Duration) {
    let start = Instant::now();
    while saved.is_alive() && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(10));
    }
}
