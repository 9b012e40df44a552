//! What the engine's end-to-end tests share: a fresh `--root` with a
//! busybox image imported, the `minibox` CLI run against it (inside a
//! network namespace of the test's when asked), waits on a state, and the
//! checks that nothing was left behind.
#![allow(dead_code)] // each test file uses its part
#![allow(clippy::expect_used, clippy::unwrap_used)]

use minibox_testkit::bounded::output_within;
use minibox_testkit::Rootfs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One engine under test: its `--root`, the busybox rootfs its image came
/// from, and the network namespace it runs in (`None`: this process's,
/// with `--network none` as the default).
pub struct Root {
    dir: tempfile::TempDir,
    rootfs: Rootfs,
    netns: Option<String>,
}

impl Root {
    /// A fresh root with busybox imported as `busybox:latest`.
    pub fn new() -> Root {
        Root::with_image(None, "busybox:latest", |_| {})
    }

    /// A fresh root whose busybox rootfs `change` edits before it is
    /// imported as `image`; with `netns` (a /run/netns path), every
    /// command runs there on the default bridge.
    pub fn with_image(netns: Option<&str>, image: &str, change: impl FnOnce(&Path)) -> Root {
        let rootfs = Rootfs::busybox();
        change(rootfs.path());
        let dir = tempfile::Builder::new()
            .prefix("mbx-")
            .tempdir()
            .expect("tempdir");
        let root = Root {
            dir,
            rootfs,
            netns: netns.map(String::from),
        };
        let rootfs = root.rootfs.path().display().to_string();
        ok(root.run(&["import", &rootfs, image]), "import");
        root
    }

    /// `minibox --root ROOT ARGS…`, not started yet (for pipes, a pty, a spawn).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.netns {
            Some(netns) => {
                let mut cmd = Command::new("nsenter");
                cmd.arg(format!("--net={netns}"))
                    .arg(env!("CARGO_BIN_EXE_minibox"));
                cmd.env_remove("MINIBOX_NETWORK");
                cmd
            }
            None => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_minibox"));
                cmd.env("MINIBOX_NETWORK", "none"); // the bridge: engine_network.rs
                cmd
            }
        };
        cmd.env("NO_COLOR", "1")
            .arg("--root")
            .arg(self.dir.path())
            .args(args);
        cmd
    }

    /// Runs the CLI to its end (bounded).
    pub fn run(&self, args: &[&str]) -> Output {
        output_within(&mut self.command(args), Duration::from_secs(60))
    }

    /// Runs the CLI, asserts it succeeded, returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        ok(self.run(args), &args.join(" "))
    }

    /// The container's `inspect` object.
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let all: serde_json::Value =
            serde_json::from_str(&self.ok(&["inspect", name])).expect("inspect's JSON");
        all[0].clone()
    }

    /// The container's state.json (docker's State, and where its pieces are).
    pub fn state(&self, id: &str) -> serde_json::Value {
        let path = self.path().join("containers").join(id).join("state.json");
        serde_json::from_slice(&std::fs::read(&path).expect("state.json")).expect("its JSON")
    }

    /// The cgroup directories the container's state records.
    pub fn cgroup_dirs(&self, id: &str) -> Vec<String> {
        self.state(id)["cgroup"]["dirs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["path"].as_str().map(String::from))
            .collect()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The rootfs the image was imported from.
    pub fn rootfs(&self) -> &Path {
        self.rootfs.path()
    }

    /// `rm -f` of every container (also after a failed assertion).
    pub fn remove_all(&self) {
        let ids = self.run(&["ps", "-aq", "--no-trunc"]);
        for id in stdout(&ids).lines() {
            self.run(&["rm", "-f", id]);
        }
    }

    /// No container and no mount under the root.
    pub fn assert_clean(&self) {
        assert_eq!(self.ok(&["ps", "-aq"]), "", "containers left");
        assert!(
            no_mounts_under(self.path()),
            "mounts left under {}",
            self.path().display()
        );
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        self.remove_all();
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `out` succeeded (saying what, with both streams, if not); its stdout.
pub fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Waits until `check` holds, or fails the test at the deadline: a state
/// that is reached, not a sleep that hopes.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not reached within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn no_mounts_under(path: &Path) -> bool {
    minibox_testkit::mounts::mounts_under(path).is_empty()
}

/// Reads a child's pipe on a thread; what came so far is in the string.
pub fn collect(pipe: Option<impl Read + Send + 'static>) -> Arc<Mutex<String>> {
    let shown = Arc::new(Mutex::new(String::new()));
    let into = shown.clone();
    let mut pipe = pipe.expect("a piped stream");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    shown
}
