//! containerd drives our runtime through its runc shim (`--runc-binary`):
//! the same scenarios with runc (the reference) and ch08-runtime must give
//! the same observations. The shim passes `--root … --log … --log-format
//! json` before every call, and reads errors back from that JSON log.
//!
//! The containerd is a private one: its own config, root, state and socket
//! in a temporary directory, stopped (by PID) when the test ends.

// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

mod common;
#[path = "common/image.rs"]
mod image;

use common::*;
use minibox_testkit::bounded::output_within;
use minibox_testkit::mounts::mounts_under;
use minibox_testkit::{require_root, require_tool, Rootfs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "minibox/busybox:latest";

struct Containerd {
    dir: tempfile::TempDir,
    daemon: Child,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("ch08-containerd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path().display();
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n[grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n[debug]\n  address = \"{d}/debug.sock\"\n[metrics]\n  address = \"\"\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_tcp_service = true\n"
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("config.toml");
        let log = std::fs::File::create(dir.path().join("containerd.log")).expect("log");
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting containerd");
        let c = Containerd { dir, daemon };
        let start = Instant::now();
        while !c.socket().exists() || !c.ctr(&["version"]).status.success() {
            assert!(
                start.elapsed() < LIMIT,
                "containerd did not come up: {}",
                std::fs::read_to_string(c.dir.path().join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null());
        output_within(&mut cmd, LIMIT)
    }

    fn task_status(&self, id: &str) -> String {
        let out = self.ctr(&["task", "ls"]);
        stdout(&out)
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("none")
            .to_string()
    }

    fn wait_task(&self, id: &str, wanted: &str) -> String {
        let start = Instant::now();
        loop {
            let status = self.task_status(id);
            if status == wanted || start.elapsed() > LIMIT {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Ours, by PID: SIGTERM, then wait.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = minibox_testkit::bounded::wait_within(&mut self.daemon, LIMIT, "containerd");
        // Snapshots are mounted only while a task runs; make sure before removing the directory.
        // The last mounted first: a mount below another goes before it.
        for target in mounts_under(self.dir.path()).iter().rev() {
            let _ = nix::mount::umount2(target.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn note(seen: &mut Vec<String>, what: &str, out: &Output) {
    seen.push(format!(
        "{what}: exit {:?} out {:?}",
        out.status.code(),
        stdout(out).trim()
    ));
}

fn scenarios(c: &Containerd, runtime: &Path) -> Vec<String> {
    let rt = runtime.display().to_string();
    let id = format!("ch08-{}", std::process::id());
    let mut seen = Vec::new();
    note(
        &mut seen,
        "run --rm",
        &c.ctr(&[
            "run",
            "--rm",
            "--runc-binary",
            &rt,
            IMAGE,
            &id,
            "sh",
            "-c",
            "echo hello $(hostname); exit 3",
        ]),
    );
    let out = c.ctr(&[
        "run",
        "-d",
        "--runc-binary",
        &rt,
        IMAGE,
        &id,
        "sleep",
        "1000",
    ]);
    assert!(out.status.success(), "ctr run -d: {}", stderr(&out));
    let now = c.wait_task(&id, "RUNNING");
    seen.push(format!("after run -d: {now}"));
    note(
        &mut seen,
        "task exec",
        &c.ctr(&[
            "task",
            "exec",
            "--exec-id",
            "e1",
            &id,
            "sh",
            "-c",
            "echo in $(cat /proc/1/cmdline | tr '\\0' ' '); exit 4",
        ]),
    );
    note(&mut seen, "task pause", &c.ctr(&["task", "pause", &id]));
    let now = c.task_status(&id);
    seen.push(format!("after pause: {now}"));
    note(&mut seen, "task resume", &c.ctr(&["task", "resume", &id]));
    let now = c.task_status(&id);
    seen.push(format!("after resume: {now}"));
    note(
        &mut seen,
        "task kill",
        &c.ctr(&["task", "kill", "-s", "SIGKILL", &id]),
    );
    let now = c.wait_task(&id, "STOPPED");
    seen.push(format!("after kill: {now}"));
    note(&mut seen, "task delete", &c.ctr(&["task", "delete", &id]));
    note(
        &mut seen,
        "container delete",
        &c.ctr(&["container", "delete", &id]),
    );
    seen
}

#[test]
fn containerd_runs_our_runtime_as_it_runs_runc() {
    if !require_root("containerd_runs_our_runtime_as_it_runs_runc")
        || !require_tool("containerd", "containerd")
        || !require_tool("containerd", "ctr")
        || !require_tool("containerd", "runc")
    {
        return;
    }
    let rootfs = Rootfs::busybox();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("busybox-oci.tar");
    // With --base-name, the ref name in the archive is the tag.
    image::write_oci_archive(rootfs.path(), "latest", &archive);
    let c = Containerd::start();
    let out = c.ctr(&[
        "images",
        "import",
        "--base-name",
        "minibox/busybox",
        "--digests",
        "--all-platforms",
        &archive.display().to_string(),
    ]);
    assert!(out.status.success(), "ctr images import: {}", stderr(&out));

    let runc = minibox_testkit::which("runc").expect("runc");
    let reference = scenarios(&c, &runc);
    let ours = scenarios(&c, Path::new(runtime_bin()));
    eprintln!("observed under runc and ours: {ours:#?}");
    assert_eq!(reference.len(), ours.len());
    for (r, o) in reference.iter().zip(&ours) {
        assert_eq!(o, r, "ch08-runtime (left) differs from runc (right)");
    }
    assert!(
        ours[0].starts_with("run --rm: exit Some(3) out \"hello "),
        "{ours:?}"
    );
    assert!(ours.iter().any(|l| l == "after pause: PAUSED"), "{ours:?}");
    let id = format!("ch08-{}", std::process::id());
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "no cgroup of {id} is left"
    );
}
