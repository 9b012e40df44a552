//! Starting a container's shim, and talking to it.

pub mod console;
pub mod protocol;
pub mod server;

use super::error::{EngineError, Result};
use super::Engine;
use server::Ready;
use std::io::BufRead;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

// ANCHOR: spawn
/// Starts `minibox shim ID` (our own binary again, as containerd starts
/// containerd-shim) and waits until it reports the container created — or
/// why not. Returns the container's init PID and the shim's PID.
pub fn spawn(engine: &Engine, id: &str, wait_start: bool) -> Result<i32> {
    let exe = std::env::current_exe().map_err(EngineError::io("finding", "/proc/self/exe"))?;
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(EngineError::sys("pipe2"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(&engine.root)
        .arg("shim")
        .arg(id)
        .args(["--ready-fd", "3"]);
    if wait_start {
        cmd.arg("--wait-start")
            .arg("--client-pid")
            .arg(std::process::id().to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ready_fd = ready_w.as_raw_fd();
    // Safety: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The ready pipe on fd 3 (dup2 clears close-on-exec on the copy).
            if libc::dup2(ready_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A session of its own: no terminal's ^C or hangup reaches the shim.
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| EngineError::Runtime(format!("starting the shim: {e}")))?;
    drop(ready_w);
    // The first shim process forks and exits at once; the second carries on.
    let _ = child.wait();
    // One line, not EOF: the container's init is a fork of the shim and
    // holds a copy of the write end until it execs.
    let mut text = String::new();
    let _ = std::io::BufReader::new(std::fs::File::from(ready_r)).read_line(&mut text);
    let ready: Ready = serde_json::from_str(text.trim()).map_err(|_| {
        EngineError::Runtime(format!(
            "the shim ended without reporting (see {})",
            engine.containers.paths(id).shim_log().display()
        ))
    })?;
    match ready.error {
        None => Ok(ready.pid),
        Some(message) => Err(match ready.code {
            127 => EngineError::CommandNotFound(message),
            126 => EngineError::CannotRun(message),
            _ => EngineError::Runtime(message),
        }),
    }
}
// ANCHOR_END: spawn
