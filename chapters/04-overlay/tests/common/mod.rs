//! Helpers shared by the tests that drive the real `ch04-overlay` binary.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// The deadline helpers: a supervisor that does not end is stopped
// (SIGTERM, then SIGKILL to it and its container inits) and the test fails.
#[allow(unused_imports)] // each test binary uses a different subset
pub use minibox_testkit::bounded::{collect_within, output_within, stop, wait_within, DEADLINE};
pub use minibox_testkit::propagation::SharedRoot;
pub use minibox_testkit::{require_root, text, Rootfs};

/// The busybox rootfs (the bottom layer), an empty layer above it for the test
/// to fill, and a directory for the containers' state.
pub struct Layers {
    pub rootfs: Rootfs,
    pub extra: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

impl Layers {
    pub fn new() -> Layers {
        let tmp = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"))
        };
        Layers {
            rootfs: Rootfs::busybox(),
            extra: tmp("ch04-layer-"),
            state: tmp("ch04-state-"),
        }
    }

    /// Writes a file into the extra layer.
    pub fn put(&self, rel: &str, text: &str) {
        let path = self.extra.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    /// `ch04-overlay --state-dir S --layer ROOTFS --layer EXTRA ARGS…`
    pub fn command(&self) -> Command {
        self.on_layers(ch04())
    }

    /// Like [`Layers::command`], but started in `ns`: a mount namespace with
    /// an rshared "/", where a mount that leaks from the container shows up.
    pub fn command_in(&self, ns: &SharedRoot) -> Command {
        self.on_layers(ns.command(env!("CARGO_BIN_EXE_ch04-overlay")))
    }

    fn on_layers(&self, mut cmd: Command) -> Command {
        cmd.arg("--state-dir").arg(self.state.path());
        cmd.arg("--layer").arg(self.rootfs.path());
        cmd.arg("--layer").arg(self.extra.path());
        cmd
    }

    /// The mounts in `ns` on the directories a run mounts on or below (the
    /// state directory and both layers): what a run started there left.
    pub fn mounts_in(&self, ns: &SharedRoot) -> Vec<String> {
        [self.state.path(), self.rootfs.path(), self.extra.path()]
            .into_iter()
            .flat_map(|dir| ns.mounts_under(dir))
            .collect()
    }

    /// Runs CMD (after `--`) on the two layers; stopped after [`DEADLINE`].
    pub fn run(&self, options: &[&str], argv: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(options).arg("--").args(argv);
        output_within(&mut cmd, DEADLINE)
    }

    /// Like [`Layers::run`], but started in `ns` (see [`Layers::command_in`]).
    pub fn run_in(&self, ns: &SharedRoot, options: &[&str], argv: &[&str]) -> Output {
        let mut cmd = self.command_in(ns);
        cmd.args(options).arg("--").args(argv);
        output_within(&mut cmd, DEADLINE)
    }

    /// The state directories the binary left (with --keep).
    pub fn kept(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = fs::read_dir(self.state.path())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs
    }
}

pub fn ch04() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ch04-overlay"))
}

/// The `docker diff` lines from the binary's stderr.
pub fn diff_lines(output: &Output) -> Vec<String> {
    let (_, stderr) = text(output);
    stderr
        .lines()
        .filter(|l| l.len() > 2 && matches!(&l[..2], "A " | "C " | "D "))
        .map(String::from)
        .collect()
}

/// Panics with the binary's output unless it exited with `code`.
pub fn assert_exit(output: &Output, code: i32) {
    let (stdout, stderr) = text(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
