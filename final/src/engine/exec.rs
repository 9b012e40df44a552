//! `exec`: one more process in a running container, through the runtime's
//! own `exec` — the container's process from config.json with the command,
//! environment, user and directory replaced, as docker passes it to runc.

use super::error::{EngineError, Result};
use super::Engine;
use std::path::PathBuf;

/// `exec`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub tty: bool,
}

/// A started exec: its host PID (ours to wait for: the CLI is a subreaper).
#[derive(Debug)]
pub struct Started {
    pub pid: i32,
    /// With a terminal: the pty master.
    pub master: Option<std::os::fd::OwnedFd>,
}

static EXEC_COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Engine {
    // ANCHOR: exec
    pub fn exec(&self, id: &str, request: &ExecRequest) -> Result<Started> {
        if request.command.is_empty() {
            return Err(EngineError::Invalid(
                "say what to run: `minibox exec CONTAINER COMMAND…`".into(),
            ));
        }
        let state = self.reconcile(id)?;
        if !state.is_running() {
            return Err(EngineError::Conflict(format!(
                "container {} is not running (status: {})",
                super::ids::short(id),
                state.status
            )));
        }
        let record = self.containers.load(id)?;
        let paths = self.containers.paths(id);
        let spec: oci_spec::runtime::Spec = super::lock::read_json(&paths.config_json())?;
        let mut process = spec.process().clone().unwrap_or_default();
        process.set_args(Some(request.command.clone()));
        process.set_terminal(Some(request.tty));
        process.set_console_size(None);
        if let Some(dir) = &request.workdir {
            process.set_cwd(PathBuf::from(dir));
        }
        if !request.env.is_empty() {
            let mut env = process.env().clone().unwrap_or_default();
            for kv in request.env.iter().filter_map(|e| super::process::expand(e)) {
                let key = kv.split('=').next().unwrap_or("").to_string();
                env.retain(|e| e.split('=').next() != Some(key.as_str()));
                env.push(kv);
            }
            process.set_env(Some(env));
        }
        if let Some(user) = &request.user {
            // Looked up in the container's own /etc/passwd and /etc/group (the
            // overlay is mounted); `--group-add` holds for exec too, as in docker.
            let u = ch07_security::user::resolve(
                &paths.rootfs(),
                Some(user),
                &record.host_config.group_add,
            )?;
            let mut oci_user = process.user().clone();
            oci_user.set_uid(u.uid);
            oci_user.set_gid(u.gid);
            oci_user.set_additional_gids(Some(u.additional_gids.clone()));
            process.set_user(oci_user);
        }
        let n = EXEC_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let process_file = paths.dir.join(format!("exec-{tag}.json"));
        let pid_file = paths.dir.join(format!("exec-{tag}.pid"));
        super::lock::write_json(&process_file, &process)?;
        // The exec'd process is reparented to us when a runtime binary exits.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let console = if request.tty {
            Some(super::shim::console::ConsoleSocket::bind(
                &paths.exec_console_socket(std::process::id()),
            )?)
        } else {
            None
        };
        let runtime = self.runtime_client(&record)?;
        let started = runtime.exec(
            id,
            &process_file,
            &pid_file,
            console.as_ref().map(|c| c.path()),
        );
        let _ = std::fs::remove_file(&process_file);
        let _ = std::fs::remove_file(&pid_file);
        let pid = started?;
        let master = match &console {
            Some(c) => Some(c.receive_master()?),
            None => None,
        };
        Ok(Started { pid, master })
    }
    // ANCHOR_END: exec
}
