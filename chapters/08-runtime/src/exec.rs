//! `exec`: one more process inside a running container — chapter 02's
//! `exec_into` (setns into every namespace, user first), joined to the
//! container's cgroup, with its own `process` (user, capabilities, env,
//! cwd, terminal) as podman and containerd pass it in `--process FILE`.

use crate::error::RuntimeError;
use crate::lifecycle::Runtime;
use crate::process::ProcessSetup;
use crate::restrict::Restrictions;
use crate::state::write_pid_file;
use ch01_chroot::Exit;
use ch02_namespaces::join::{exec_into, ExecSpec};
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::Cgroup;
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
}

impl Hooks for ExecHooks<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        match &self.cgroup {
            Some(cgroup) => cgroup.join(pid).map_err(ch03_cgroups::hook::hook_error),
            None => Ok(()),
        }
    }

    fn before_exec(&self) -> Result<(), HookError> {
        let fail = |(what, errno): (String, nix::errno::Errno)| {
            HookError::new(
                what,
                Some(errno),
                "check the exec's process.json (user, capabilities, rlimits)",
            )
        };
        self.restrictions.before_identity().map_err(fail)?;
        self.setup.apply().map_err(fail)?;
        self.restrictions.after_identity().map_err(fail)
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
        let own_user_ns = saved
            .config
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|n| {
                n.iter().any(|ns| {
                    ns.typ() == oci_spec::runtime::LinuxNamespaceType::User && ns.path().is_none()
                })
            });
        let mut setup = ProcessSetup::from_process(&process)?;
        setup.may_setgroups = !own_user_ns;
        let restrictions = Restrictions::from_config(&process, None, (false, false, false))?;
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
            env: process
                .env()
                .iter()
                .flatten()
                .filter_map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect(),
            cwd: process.cwd().clone(),
        };
        let narrator = self.log.narrator();
        let mut hooks = ExecHooks {
            cgroup: saved.cgroup.as_ref().map(|h| h.open(&narrator)),
            setup: &setup,
            restrictions: &restrictions,
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
