//! config.json's `hooks`: programs the runtime runs at fixed points of the
//! lifecycle, each given the container's state as JSON on stdin.
//!
//! | stage            | when, and where it runs                                      |
//! |------------------|--------------------------------------------------------------|
//! | prestart, createRuntime | after the namespaces exist, before pivot_root; host side |
//! | createContainer  | in the container's mount namespace, before pivot_root        |
//! | startContainer   | in the container, just before the program (not supported)    |
//! | poststart        | after `start` released the program (failures only warn)      |
//! | poststop         | at `delete` (failures only warn)                              |

use crate::error::RuntimeError;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ANCHOR: run_hook
/// Runs each hook in turn with `state` on stdin; the first failure (exit
/// status, or its `timeout` in seconds passed: killed) is the error.
pub fn run_all(
    stage: &'static str,
    hooks: &[oci_spec::runtime::Hook],
    state: &str,
) -> Result<(), RuntimeError> {
    for hook in hooks {
        run_one(stage, hook, state)?;
    }
    Ok(())
}

fn run_one(
    stage: &'static str,
    hook: &oci_spec::runtime::Hook,
    state: &str,
) -> Result<(), RuntimeError> {
    let failed = |message: String| RuntimeError::Hook {
        stage,
        path: hook.path().clone(),
        message,
    };
    let args = hook.args().clone().unwrap_or_default();
    let mut command = Command::new(hook.path());
    // args[0] is the program's name, as in execve.
    if let Some((first, rest)) = args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut command, first);
        command.args(rest);
    }
    command.env_clear();
    for pair in hook.env().iter().flatten() {
        if let Some((key, value)) = pair.split_once('=') {
            command.env(key, value);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("could not start it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(failed(format!("it {status}"))),
            Ok(None) => {}
            Err(e) => return Err(failed(format!("waiting for it: {e}"))),
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!(
                "it ran longer than its timeout of {} s and was killed",
                hook.timeout().unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
// ANCHOR_END: run_hook
