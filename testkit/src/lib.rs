//! The shared test harness.
//!
//! Integration tests hit the real kernel, so most need root and some need
//! tools (busybox-static). [`require_root`] and [`require_tool`] decide
//! whether a test runs: as root it runs; otherwise it skips with a printed
//! reason — except under `CI=true`, where a would-skip is a failure, so CI can
//! never pass by skipping. [`Rootfs`] gives each test its own fresh busybox
//! root filesystem, deleted when the test ends.

pub mod bounded;
pub mod oci;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// True when running in CI (`CI=true` or `CI=1`), where nothing may skip.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// Decides whether a test that cannot run here skips (locally) or fails (CI).
fn skip_or_fail(test: &str, reason: &str) -> bool {
    if in_ci() {
        panic!("{test}: {reason} — under CI=true a privileged test must not skip");
    }
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// Returns true if the test may go on as root. Use as
/// `if !require_root("my_test") { return; }`.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        skip_or_fail(
            test,
            "needs root (run `cargo test`: the cargo runner uses sudo)",
        )
    }
}

/// Returns true if `tool` is on PATH (or is an existing path).
pub fn require_tool(test: &str, tool: &str) -> bool {
    if which(tool).is_some() {
        true
    } else {
        skip_or_fail(test, &format!("needs `{tool}` (scripts/setup installs it)"))
    }
}

/// Finds `tool` on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        return Some(PathBuf::from(tool)).filter(|p| p.exists());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A fresh busybox root filesystem in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// Builds one from the host's busybox-static (panics with the fix if it is missing:
    /// a test without its fixture cannot say anything).
    pub fn busybox() -> Rootfs {
        let dir = tempfile::Builder::new()
            .prefix("minibox-test-rootfs-")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"));
        let busybox = ch01_chroot::rootfs::find_busybox().unwrap_or_else(|e| panic!("{e}"));
        ch01_chroot::rootfs::create_busybox_rootfs(dir.path(), &busybox)
            .unwrap_or_else(|e| panic!("{e}"));
        Rootfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs a command and returns its output; panics only if it could not be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
}

/// stdout and stderr of an [`Output`] as text, for assertions and messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A name unique to this test process, for cgroups, mounts and files.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
