//! `exec`: one more process inside a running container — chapter 02's
//! `exec_into` (setns into every namespace, user first), joined to the
//! container's cgroup, with its own `process` (user, capabilities, env,
//! cwd, terminal) as podman and containerd pass it in `--process FILE`.

use crate::error::RuntimeError;
use crate::lifecycle::Runtime;
use crate::process::ProcessSetup;
use crate::state::write_pid_file;
use ch01_chroot::Exit;
use ch02_namespaces::join::{exec_into, ExecSpec};
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::Cgroup;
use ch07_security::Restrictions;
use nix::unistd::Pid;
use std::path::PathBuf;

/// What `exec` was asked for.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
}

/// The hooks of the exec'd process: the cgroup on the host side, identity
/// and restrictions inside.
struct ExecHooks<'a> {
    cgroup: Option<Cgroup>,
    setup: &'a ProcessSetup,
    restrictions: &'a Restrictions,
    narrator: &'a ch01_chroot::Narrator,
}

impl Hooks for ExecHooks<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        match &self.cgroup {
            Some(cgroup) => cgroup.join(pid).map_err(ch03_cgroups::hook::hook_error),
            None => Ok(()),
        }
    }

    fn before_exec(&self) -> Result<(), HookError> {
        self.setup.apply().map_err(|(what, errno)| {
            HookError::new(what, Some(errno), "check the exec's process.json")
        })?;
        crate::process::close_fds_on_exec()
            .map_err(|(what, errno)| HookError::new(what, Some(errno), "unexpected"))?;
        self.restrictions
            .apply(self.narrator)
            .map_err(ch07_security::hooks::hook_error)
    }
}

/// How the exec ended: its exit, or (detached) its PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOutcome {
    Exited(Exit),
    Detached(Pid),
}

impl Runtime {
    // ANCHOR: exec
    /// Runs `process` (config.json's `process` shape) in container `id`.
    pub fn exec(
        &self,
        id: &str,
        process: oci_spec::runtime::Process,
        options: &ExecOptions,
    ) -> Result<ExecOutcome, RuntimeError> {
        let saved = self.load(id)?;
        let status = saved.status(&self.store.dir(id));
        let Some(pid) = saved.pid.filter(|_| status == "running") else {
            return Err(RuntimeError::WrongState {
                id: id.into(),
                status,
                what: "exec",
                needed: "running",
            });
        };
        let argv = process.args().clone().unwrap_or_default();
        if argv.is_empty() {
            return Err(RuntimeError::invalid("process.args", "say what to run"));
        }
        let mut setup = ProcessSetup::from_process(&process);
        // The container's restrictions (its seccomp, device rules) with this
        // process's own capabilities, user and rlimits; the masks and
        // read-only paths are in place already, in the shared mount namespace.
        let mut config = saved.config.clone();
        config.set_process(Some(process.clone()));
        let mut restrictions = Restrictions::from_oci(&config, &saved.rootfs)?;
        restrictions.masked_paths.clear();
        restrictions.readonly_paths.clear();
        restrictions.device_nodes.clear();
        restrictions.check()?;
        let mut env: Vec<(String, String)> = process
            .env()
            .iter()
            .flatten()
            .filter_map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        for (key, value) in restrictions.env() {
            if !env.iter().any(|(k, _)| *k == key) {
                env.push((key, value));
            }
        }
        let console = match (&options.console_socket, process.terminal().unwrap_or(false)) {
            (Some(socket), true) => Some(crate::terminal::connect_console_socket(socket)?),
            (None, true) if options.detach => {
                return Err(RuntimeError::invalid(
                    "process.terminal",
                    "a detached exec with a terminal needs --console-socket",
                ))
            }
            _ => None,
        };
        if let Some(sock) = &console {
            setup.terminal = Some(crate::terminal::TerminalRequest {
                socket: std::os::fd::AsRawFd::as_raw_fd(sock),
                size: process
                    .console_size()
                    .as_ref()
                    .map(|b| (b.height() as u16, b.width() as u16)),
                console: false,
            });
        }
        let spec = ExecSpec {
            target: Pid::from_raw(pid),
            argv,
            env,
            cwd: process.cwd().clone(),
        };
        let narrator = self.log.narrator();
        let mut hooks = ExecHooks {
            cgroup: saved.cgroup.as_ref().map(|h| h.open(&narrator)),
            setup: &setup,
            restrictions: &restrictions,
            narrator: &narrator,
        };
        let exec = exec_into(&spec, &mut hooks, &narrator)?;
        drop(console);
        if let Some(pid_file) = &options.pid_file {
            write_pid_file(pid_file, exec.pid().as_raw())?;
        }
        self.log.info(&format!("exec in {id}: PID {}", exec.pid()));
        if options.detach {
            return Ok(ExecOutcome::Detached(exec.pid()));
        }
        Ok(ExecOutcome::Exited(exec.wait()?))
    }
    // ANCHOR_END: exec

    /// The container's own `process`, with `args` replaced: what `exec ID CMD…` runs.
    pub fn default_exec_process(
        &self,
        id: &str,
        args: Vec<String>,
        terminal: bool,
    ) -> Result<oci_spec::runtime::Process, RuntimeError> {
        let saved = self.load(id)?;
        let mut process = saved.config.process().clone().unwrap_or_default();
        process.set_args(Some(args));
        process.set_terminal(Some(terminal));
        process.set_console_size(None);
        Ok(process)
    }
}
