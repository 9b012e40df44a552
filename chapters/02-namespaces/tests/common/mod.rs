//! Shared helpers: run the real `ch02-namespaces` binary, and watch it from the host.
#![allow(dead_code)]

use minibox_testkit::Rootfs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ch02-namespaces");

/// `ch02-namespaces --rootfs R FLAGS -- sh -c SCRIPT`, quiet, and its output.
pub fn run_in(rootfs: &Path, flags: &[&str], script: &str) -> Output {
    minibox_testkit::run(&mut command(rootfs, flags, &["sh", "-c", script]))
}

pub fn command(rootfs: &Path, flags: &[&str], argv: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--quiet")
        .arg("--rootfs")
        .arg(rootfs)
        .args(flags)
        .arg("--")
        .args(argv)
        .stdin(Stdio::null());
    cmd
}

/// Runs and returns stdout, panicking with both streams unless it exited 0.
pub fn stdout_of(rootfs: &Path, flags: &[&str], script: &str) -> String {
    succeeded(run_in(rootfs, flags, script), flags, script)
}

/// Like [`stdout_of`], but started inside `ns` (see [`command_in`]).
pub fn stdout_in(
    ns: &minibox_testkit::propagation::SharedRoot,
    rootfs: &Path,
    flags: &[&str],
    script: &str,
) -> String {
    let mut cmd = command_in(ns, rootfs, flags, &["sh", "-c", script]);
    succeeded(minibox_testkit::run(&mut cmd), flags, script)
}

/// stdout of a run of `script`, panicking with both streams unless it exited 0.
fn succeeded(out: Output, flags: &[&str], script: &str) -> String {
    let (stdout, stderr) = minibox_testkit::text(&out);
    assert!(
        out.status.success(),
        "{flags:?} {script:?} failed ({:?})\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    stdout
}

/// A container started in the background, seen from the host.
pub struct Running {
    pub child: Child,
    pub init: i32,
    pub command: i32,
}

impl Running {
    /// Starts `argv` and waits (at most 10 s) until the command has exec'd `expect_comm`.
    pub fn start(rootfs: &Rootfs, flags: &[&str], argv: &[&str], expect_comm: &str) -> Running {
        let child = command(rootfs.path(), flags, argv)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BIN}: {e}"));
        // Owned by `Running` at once: its Drop cleans up if we panic below.
        let mut running = Running {
            child,
            init: 0,
            command: 0,
        };
        let parent = nix::unistd::Pid::from_raw(running.child.id() as i32);
        let below = minibox_testkit::supervisor::wait_for_command_below(
            parent,
            2,
            expect_comm,
            Duration::from_secs(10),
        );
        let Some([init, command]) = below.as_deref() else {
            panic!("the container never started {argv:?}");
        };
        running.init = init.as_raw();
        running.command = command.as_raw();
        running
    }

    /// The namespace link of a process, e.g. "uts:[4026531838]".
    pub fn ns(pid: i32, name: &str) -> String {
        std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| panic!("readlink /proc/{pid}/ns/{name}: {e}"))
    }

    /// Kills the command (SIGKILL) and collects the binary; returns its exit code.
    pub fn stop(mut self) -> Option<i32> {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.command),
            nix::sys::signal::Signal::SIGKILL,
        );
        self.wait()
    }

    /// Waits (at most 10 s) for the binary to end.
    pub fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the container did not end within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    /// A test that panicked must not leave its container behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if self.init > 0 {
                // Killing init kills its whole PID namespace.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(self.init),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Like [`command`], but started inside `ns`: a mount namespace with an
/// rshared "/", where a mount that leaks from the container shows up.
pub fn command_in(
    ns: &minibox_testkit::propagation::SharedRoot,
    rootfs: &Path,
    flags: &[&str],
    argv: &[&str],
) -> Command {
    let mut cmd = ns.command(BIN);
    cmd.arg("--quiet")
        .arg("--rootfs")
        .arg(rootfs)
        .args(flags)
        .arg("--")
        .args(argv)
        .stdin(Stdio::null());
    cmd
}

/// The names in `dir` (empty if it cannot be read): what a bug wrote outside.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
