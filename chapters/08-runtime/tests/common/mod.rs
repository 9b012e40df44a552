//! Shared by the runtime's tests: a bundle made from a fresh busybox rootfs
//! and the `spec` template, and the runtime binary run with a private --root.
#![allow(dead_code)]
// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

use minibox_testkit::bounded::output_within;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::Rootfs;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const LIMIT: Duration = Duration::from_secs(30);

pub fn runtime_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ch08-runtime")
}

/// A bundle in a temporary directory: config.json + a busybox rootfs.
pub struct Bundle {
    pub dir: tempfile::TempDir,
    _rootfs: Rootfs,
    pub config: Value,
}

impl Bundle {
    /// The `spec` template, without a terminal, running `args`.
    pub fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("ch08-bundle-")
            .tempdir()
            .expect("tempdir");
        let rootfs = Rootfs::busybox();
        std::os::unix::fs::symlink(rootfs.path(), dir.path().join("rootfs"))
            .expect("symlink rootfs");
        let mut config = ch08_runtime::template::default_config();
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        Bundle {
            dir,
            _rootfs: rootfs,
            config,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Writes config.json (call after changing `config`).
    pub fn write(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("json"),
        )
        .expect("writing config.json");
    }
}

/// A private state root, with every container left in it force-deleted at the end.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    pub fn new() -> Root {
        Root {
            dir: tempfile::Builder::new()
                .prefix("ch08-root-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(runtime_bin());
        cmd.arg("--root").arg(self.dir.path());
        cmd
    }

    /// Runs a runtime command to completion (stdin closed).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args).stdin(Stdio::null());
        output_within(&mut cmd, LIMIT)
    }

    /// `create`: the container inherits create's stdio, so it gets files
    /// (out, err in `logs`), never pipes a test would wait on.
    pub fn create(&self, bundle: &Bundle, id: &str, logs: &Path) -> Output {
        self.create_with(self.cmd(), bundle, id, logs)
    }

    /// Like [`Root::create`], but the runtime runs in `ns`: a mount namespace
    /// with an rshared "/", where a mount that leaks from the container shows up.
    pub fn create_in(&self, ns: &SharedRoot, bundle: &Bundle, id: &str, logs: &Path) -> Output {
        let mut cmd = ns.command(runtime_bin());
        cmd.arg("--root").arg(self.dir.path());
        self.create_with(cmd, bundle, id, logs)
    }

    fn create_with(&self, mut cmd: Command, bundle: &Bundle, id: &str, logs: &Path) -> Output {
        bundle.write();
        let out = std::fs::File::create(logs.join(format!("{id}.out"))).expect("out file");
        let err = std::fs::File::create(logs.join(format!("{id}.err"))).expect("err file");
        cmd.args(["create", "--bundle"])
            .arg(bundle.path())
            .args(["--pid-file"])
            .arg(logs.join(format!("{id}.pid")))
            .arg(id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let status = cmd.status().expect("running create");
        Output {
            status,
            stdout: std::fs::read(logs.join(format!("{id}.out"))).unwrap_or_default(),
            stderr: std::fs::read(logs.join(format!("{id}.err"))).unwrap_or_default(),
        }
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.run(&["state", id]);
        assert!(
            out.status.success(),
            "state {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("state is JSON")
    }

    /// Waits (bounded) until the container's status is `status`.
    pub fn wait_status(&self, id: &str, status: &str) -> Value {
        let start = Instant::now();
        loop {
            let state = self.state(id);
            if state["status"] == status {
                return state;
            }
            assert!(
                start.elapsed() < LIMIT,
                "{id} never became {status}: {state}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                if let Some(id) = entry.file_name().to_str() {
                    let _ = self.run(&["delete", "--force", id]);
                }
            }
        }
    }
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `run` of a bundle: (exit code, stdout, stderr).
pub fn run_bundle(root: &Root, bundle: &Bundle, id: &str) -> (i32, String, String) {
    bundle.write();
    let out = root.run(&["run", "--bundle", &bundle.path().display().to_string(), id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// True if `pid` is alive and not a zombie.
pub fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Every cgroup directory named `name` under the host's hierarchies (depth-bounded).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: u32, found: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                if entry.file_name() == name {
                    found.push(path.clone());
                }
                walk(&path, name, depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, 7, &mut found);
    found
}
