//! The OCI runtime client: chapter 08 by default, or any runtime that
//! speaks runc's command line (`--runtime runc`, `crun`, a path).
//!
//! Chapter 08 is a library as well as a binary, so the engine calls it in
//! process — the same `create`, `start`, `kill`, `delete`, `exec` its
//! command line runs, on the same state directory (`ch08-runtime --root …
//! state ID` from a second terminal sees our containers). Another runtime
//! is run as containerd's shim runs runc:
//! `RUNTIME --root R --log L --log-format json create --bundle B --pid-file F ID`.

use super::error::{EngineError, Result};
use ch08_runtime::{CreateOptions, ExecOptions, ExecOutcome, LogFormat, RuntimeLog};
use nix::sys::signal::Signal;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Which runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeKind {
    /// Chapter 08, in process.
    Builtin,
    /// A runc-compatible binary.
    Binary(PathBuf),
}

/// The name we record for chapter 08.
pub const BUILTIN: &str = "minibox";

impl RuntimeKind {
    // ANCHOR: resolve
    /// `--runtime`: `minibox` (or `ours`, `ch08`, `ch08-runtime`), `runc`,
    /// `crun` (looked up in PATH), or the path of a runc-compatible binary.
    pub fn resolve(name: &str) -> Result<RuntimeKind> {
        match name {
            "" | BUILTIN | "ours" | "ch08" | "ch08-runtime" => return Ok(RuntimeKind::Builtin),
            _ => {}
        }
        let unknown = |why: &str| {
            EngineError::Invalid(format!(
                "unknown runtime {name:?}: {why} (use minibox, runc, crun or the path of a runc-compatible binary)"
            ))
        };
        let path = if name.contains('/') {
            PathBuf::from(name)
        } else {
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| unknown("not found in PATH"))?
        };
        let executable = std::fs::metadata(&path)
            .map(|m| {
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                    && m.is_file()
            })
            .unwrap_or(false);
        if !executable {
            return Err(unknown(&format!(
                "{} is not an executable file",
                path.display()
            )));
        }
        Ok(RuntimeKind::Binary(path))
    }
    // ANCHOR_END: resolve

    /// What to show the user.
    pub fn display_name(&self) -> String {
        match self {
            RuntimeKind::Builtin => "ch08-runtime (chapter 08, in process)".into(),
            RuntimeKind::Binary(path) => path.display().to_string(),
        }
    }
}

/// The container's stdin, stdout and stderr for `create`.
#[derive(Debug)]
pub struct Stdio3 {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// A runtime bound to its state root and log.
#[derive(Debug, Clone)]
pub struct RuntimeClient {
    pub kind: RuntimeKind,
    /// The runtime's `--root`.
    pub root: PathBuf,
    /// The runtime's `--log` (JSON lines).
    pub log: PathBuf,
}

impl RuntimeClient {
    pub fn new(kind: RuntimeKind, root: &Path, log: &Path) -> RuntimeClient {
        RuntimeClient {
            kind,
            root: root.to_path_buf(),
            log: log.to_path_buf(),
        }
    }

    /// The command line this call is (or would be, for chapter 08), for narration.
    pub fn command_line(&self, args: &[&str]) -> String {
        let program = match &self.kind {
            RuntimeKind::Builtin => "ch08-runtime".to_string(),
            RuntimeKind::Binary(path) => path.display().to_string(),
        };
        format!(
            "{program} --root {} --log {} --log-format json {}",
            self.root.display(),
            self.log.display(),
            args.join(" ")
        )
    }

    fn builtin(&self) -> Result<ch08_runtime::Runtime> {
        let log = RuntimeLog::open(
            Some(&self.log),
            LogFormat::Json,
            ch01_chroot::Verbosity::Normal,
        )
        .map_err(EngineError::io("opening the runtime log", &self.log))?;
        Ok(ch08_runtime::Runtime::new(self.root.clone(), log))
    }

    fn binary(&self, path: &Path) -> Command {
        let mut cmd = Command::new(path);
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .arg("--log-format")
            .arg("json");
        // The shim blocks signals it waits for in a signalfd; the runtime
        // (and through it the container) must not inherit that mask.
        // Safety: sigprocmask is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let _ = nix::sys::signal::sigprocmask(
                    nix::sys::signal::SigmaskHow::SIG_SETMASK,
                    Some(&nix::sys::signal::SigSet::empty()),
                    None,
                );
                Ok(())
            });
        }
        cmd
    }

    /// Runs a binary runtime call; its stderr and the last error of its log become the message.
    fn call(&self, what: &str, mut cmd: Command) -> Result<String> {
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
            EngineError::Runtime(format!("running {}: {e}", self.kind.display_name()))
        })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(runtime_failure(
            what,
            &self.kind,
            &stderr,
            &self.last_log_error(),
        ))
    }

    /// Runs a binary runtime's `create` or `exec`, whose stdio are the
    /// container's (so the reason for a failure is in its log), and returns
    /// the PID it wrote to `pid_file`.
    fn call_for_pid(&self, what: &str, mut cmd: Command, pid_file: &Path) -> Result<i32> {
        let status = cmd.status().map_err(|e| {
            EngineError::Runtime(format!("running {}: {e}", self.kind.display_name()))
        })?;
        if !status.success() {
            return Err(runtime_failure(
                what,
                &self.kind,
                "",
                &self.last_log_error(),
            ));
        }
        let text = std::fs::read_to_string(pid_file)
            .map_err(EngineError::io("reading the runtime's pid file", pid_file))?;
        text.trim().parse().map_err(|_| {
            EngineError::Runtime(format!("{} holds no PID: {text:?}", pid_file.display()))
        })
    }

    /// The last `"level":"error"` line of the runtime's log (what containerd shows).
    fn last_log_error(&self) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["level"] == "error")
            .and_then(|v| v["msg"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    // ANCHOR: create
    /// `create`: the container exists, its program waits for `start`.
    /// Returns the PID of its first process.
    ///
    /// The container's stdio are `stdio`. Chapter 08 in process hands its
    /// caller's fds 0-2 to the container, so they are put there for the
    /// call (only the shim calls this: its own stdio are /dev/null).
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        stdio: Stdio3,
    ) -> Result<i32> {
        match &self.kind {
            RuntimeKind::Builtin => {
                let runtime = self.builtin()?;
                let options = CreateOptions {
                    pid_file: Some(pid_file.to_path_buf()),
                    console_socket: console_socket.map(Path::to_path_buf),
                };
                let saved = StdioSwap::put(&stdio)?;
                let created = runtime.create(id, bundle, &options);
                drop(saved);
                let pid = created.map_err(|e| classify_builtin(&e.to_string(), e))?;
                Ok(pid.as_raw())
            }
            RuntimeKind::Binary(path) => {
                let mut cmd = self.binary(path);
                cmd.arg("create")
                    .arg("--bundle")
                    .arg(bundle)
                    .arg("--pid-file")
                    .arg(pid_file);
                if let Some(socket) = console_socket {
                    cmd.arg("--console-socket").arg(socket);
                }
                cmd.arg(id);
                cmd.stdin(Stdio::from(stdio.stdin))
                    .stdout(Stdio::from(stdio.stdout))
                    .stderr(Stdio::from(stdio.stderr));
                self.call_for_pid("create", cmd, pid_file)
            }
        }
    }
    // ANCHOR_END: create

    pub fn start(&self, id: &str) -> Result<()> {
        match &self.kind {
            RuntimeKind::Builtin => Ok(self.builtin()?.start(id)?),
            RuntimeKind::Binary(path) => {
                let mut cmd = self.binary(path);
                cmd.args(["start", id]);
                self.call("start", cmd).map(drop)
            }
        }
    }

    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        match &self.kind {
            RuntimeKind::Builtin => Ok(self.builtin()?.kill(id, signal, all)?),
            RuntimeKind::Binary(path) => {
                let mut cmd = self.binary(path);
                cmd.arg("kill");
                if all {
                    cmd.arg("--all");
                }
                cmd.args([id, &(signal as i32).to_string()]);
                self.call("kill", cmd).map(drop)
            }
        }
    }

    /// `delete [--force]`; a container the runtime does not know is fine.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        match &self.kind {
            RuntimeKind::Builtin => match self.builtin()?.delete(id, force) {
                Err(ch08_runtime::RuntimeError::NotFound(_)) => Ok(()),
                other => Ok(other?),
            },
            RuntimeKind::Binary(path) => {
                if !self.root.join(id).exists() {
                    return Ok(());
                }
                let mut cmd = self.binary(path);
                cmd.arg("delete");
                if force {
                    cmd.arg("--force");
                }
                cmd.arg(id);
                self.call("delete", cmd).map(drop)
            }
        }
    }

    // ANCHOR: exec
    /// `exec --detach`: starts `process` (config.json's `process` object, in
    /// `process_file`) in the running container; returns its host PID. The
    /// caller is a child subreaper, so it can wait for that PID even when a
    /// runtime binary started it and exited.
    pub fn exec(
        &self,
        id: &str,
        process_file: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
    ) -> Result<i32> {
        match &self.kind {
            RuntimeKind::Builtin => {
                let text = std::fs::read_to_string(process_file)
                    .map_err(EngineError::io("reading", process_file))?;
                let process: oci_spec::runtime::Process = serde_json::from_str(&text)
                    .map_err(|e| EngineError::Invalid(format!("the exec's process: {e}")))?;
                let options = ExecOptions {
                    detach: true,
                    pid_file: Some(pid_file.to_path_buf()),
                    console_socket: console_socket.map(Path::to_path_buf),
                };
                match self.builtin()?.exec(id, process, &options) {
                    Ok(ExecOutcome::Detached(pid)) => Ok(pid.as_raw()),
                    Ok(ExecOutcome::Exited(_)) => {
                        Err(EngineError::Runtime("exec did not detach".into()))
                    }
                    Err(e) => Err(classify_builtin(&e.to_string(), e)),
                }
            }
            RuntimeKind::Binary(path) => {
                let mut cmd = self.binary(path);
                cmd.arg("exec")
                    .arg("--detach")
                    .arg("--pid-file")
                    .arg(pid_file);
                cmd.arg("--process").arg(process_file);
                if let Some(socket) = console_socket {
                    cmd.arg("--tty").arg("--console-socket").arg(socket);
                }
                cmd.arg(id);
                self.call_for_pid("exec", cmd, pid_file)
            }
        }
    }
    // ANCHOR_END: exec
}

/// A runtime's failure, classified as docker does: a missing command is
/// 127, one that cannot be executed 126, anything else 125.
fn runtime_failure(what: &str, kind: &RuntimeKind, stderr: &str, logged: &str) -> EngineError {
    let detail = if !logged.is_empty() { logged } else { stderr };
    let message = format!("{} {what} failed: {detail}", kind.display_name());
    classify(message)
}

fn classify(message: String) -> EngineError {
    let lower = message.to_lowercase();
    if lower.contains("executable file not found")
        || lower.contains("no such file or directory") && lower.contains("exec")
    {
        EngineError::CommandNotFound(message)
    } else if lower.contains("permission denied") && lower.contains("exec") {
        EngineError::CannotRun(message)
    } else {
        EngineError::Runtime(message)
    }
}

fn classify_builtin(text: &str, err: ch08_runtime::RuntimeError) -> EngineError {
    match err.exit_code() {
        127 => EngineError::CommandNotFound(text.to_string()),
        126 => EngineError::CannotRun(text.to_string()),
        _ => EngineError::OciRuntime(err),
    }
}

/// Puts the container's stdio on fds 0-2 of this process for the duration
/// of an in-process `create`, and /dev/null back after.
struct StdioSwap;

impl StdioSwap {
    fn put(stdio: &Stdio3) -> Result<StdioSwap> {
        // dup2 clears FD_CLOEXEC on the copy: the container inherits 0-2.
        nix::unistd::dup2_stdin(&stdio.stdin).map_err(EngineError::sys("dup2"))?;
        nix::unistd::dup2_stdout(&stdio.stdout).map_err(EngineError::sys("dup2"))?;
        nix::unistd::dup2_stderr(&stdio.stderr).map_err(EngineError::sys("dup2"))?;
        Ok(StdioSwap)
    }
}

impl Drop for StdioSwap {
    fn drop(&mut self) {
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            let _ = nix::unistd::dup2_stdin(&null);
            let _ = nix::unistd::dup2_stdout(&null);
            let _ = nix::unistd::dup2_stderr(&null);
        }
    }
}
