//! Running a supervisor binary with a deadline, so that a test whose command
//! does not end (a limit that did not apply, a signal that was lost) fails in
//! bounded time instead of hanging CI — and still cleans up what it started.
//!
//! On a deadline: SIGTERM to the supervisor we started (it
//! forwards it and removes its cgroups and layers), a grace period, then
//! SIGKILL to the container inits it started (in a PID namespace that ends
//! the whole container) and to the supervisor. Only PIDs we started, or
//! their direct children, are ever signalled.
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a supervisor may run before we stop it. Generous: under qemu's
/// TCG (the cgroup v2 lane) debug binaries run several times slower.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// What the supervisor gets after our SIGTERM before we SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// Like `Command::output`, but gives up after `limit` (see the module doc).
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    collect_within(child, limit, &format!("{cmd:?}"))
}

/// Like `Child::wait_with_output`, but gives up after `limit` (see the module doc).
pub fn collect_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_within(&mut child, limit, what);
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads a pipe to its end on a thread (two pipes read in turn can deadlock).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for `child` at most `limit`; past it, stops it (see the module doc) and panics.
pub fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    if let Some(status) = wait_until(child, Instant::now() + limit) {
        return status;
    }
    stop(child, &format!("{what} still ran after {limit:?}"))
}

/// Stops `child` (SIGTERM, grace, SIGKILL to it and its children) and fails the test.
pub fn stop(child: &mut Child, why: &str) -> ! {
    let supervisor = Pid::from_raw(child.id() as i32);
    let _ = kill(supervisor, Signal::SIGTERM);
    if wait_until(child, Instant::now() + GRACE).is_none() {
        for init in children_of(supervisor) {
            let _ = kill(init, Signal::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{why}: stopped it");
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => return None,
            Err(e) => panic!("waiting for pid {}: {e}", child.id()),
        }
    }
}

/// The direct children of `parent` (the container inits of a supervisor), from /proc.
pub fn children_of(parent: Pid) -> Vec<Pid> {
    let parent = parent.to_string();
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The parent PID is the 2nd field after the ")" that closes the command name.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1));
        if ppid == Some(parent.as_str()) {
            children.push(Pid::from_raw(pid));
        }
    }
    children
}

/// True once `pid` has ended: gone from /proc, or a zombie (dead, waiting
/// for a parent to collect it). Polls until `deadline`.
pub fn gone_by(pid: Pid, deadline: Instant) -> bool {
    loop {
        if !is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True while `pid` runs (exists and is not a zombie).
pub fn is_alive(pid: Pid) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the 1st field after the ")" that closes the command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Every descendant of `parent` (children, their children, …), from /proc.
pub fn descendants_of(parent: Pid) -> Vec<Pid> {
    let mut all = Vec::new();
    let mut frontier = vec![parent];
    while let Some(pid) = frontier.pop() {
        for child in children_of(pid) {
            if !all.contains(&child) {
                all.push(child);
                frontier.push(child);
            }
        }
    }
    all
}
