//! podman drives our runtime exactly as it drives runc: the same scenarios,
//! run once with runc (the reference) and once with ch08-runtime, must give
//! the same observations.
//!
//! podman here needs lower default ulimits (the host grants no
//! CAP_SYS_RESOURCE) and runs with a private storage root, run root and
//! tmpdir, vfs storage (no mounts to clean up) and no network. podman's
//! defaults stay: capabilities, masks, device rules and its seccomp profile
//! (which names every architecture's system calls; chapter 07 skips the ones
//! this machine lacks, as runc does).
// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

mod common;
#[path = "common/image.rs"]
mod image;

use common::*;
use minibox_testkit::bounded::output_within;
use minibox_testkit::{require_root, require_tool, Rootfs};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/minibox-busybox:latest";

struct Podman {
    dir: tempfile::TempDir,
    runtime: PathBuf,
}

impl Podman {
    fn new(runtime: &Path, archive: &Path) -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("ch08-podman-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .expect("containers.conf");
        let podman = Podman {
            dir,
            runtime: runtime.to_path_buf(),
        };
        let out = podman.run(&["load", "-i", &archive.display().to_string()]);
        assert!(out.status.success(), "podman load: {}", stderr(&out));
        podman
    }

    fn cmd(&self) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("graph"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .arg("--runtime")
            .arg(&self.runtime)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args);
        output_within(&mut cmd, LIMIT)
    }

    fn status_of(&self, name: &str) -> String {
        stdout(&self.run(&["inspect", "-f", "{{.State.Status}}", name]))
            .trim()
            .to_string()
    }

    fn wait_status(&self, name: &str, wanted: &str) -> String {
        let start = Instant::now();
        loop {
            let status = self.status_of(name);
            if status == wanted || start.elapsed() > LIMIT {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-a", "-f"]);
        let _ = self.run(&["rmi", "-a", "-f"]);
    }
}

const RUN: &[&str] = &["run", "--rm", "--network", "none"];

fn note(seen: &mut Vec<String>, what: &str, out: &Output) {
    seen.push(format!(
        "{what}: exit {:?} out {:?}",
        out.status.code(),
        stdout(out).trim()
    ));
}

/// The scenarios; each line is one observation. Also returns the ids of
/// the detached containers, to look for leftovers.
fn scenarios(podman: &Podman) -> (Vec<String>, Vec<String>) {
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    // Foreground, with an exit code.
    let mut args = RUN.to_vec();
    args.extend([
        IMAGE,
        "sh",
        "-c",
        "echo hello; echo $(id -u) $(ulimit -n); exit 3",
    ]);
    note(&mut seen, "run --rm", &podman.run(&args));
    // A terminal (through --console-socket).
    let mut args = RUN.to_vec();
    args.extend(["-t", IMAGE, "tty"]);
    note(&mut seen, "run -t", &podman.run(&args));
    // Detached, then exec, pause/unpause, stop, rm -f.
    let name = format!("ch08-{}", std::process::id());
    let out = podman.run(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]);
    assert!(out.status.success(), "run -d: {}", stderr(&out));
    ids.push(stdout(&out).trim().to_string());
    let now = podman.wait_status(&name, "running");
    seen.push(format!("after run -d: {}", now));
    note(
        &mut seen,
        "exec",
        &podman.run(&[
            "exec",
            &name,
            "sh",
            "-c",
            "echo in $(cat /proc/1/cmdline | tr '\\0' ' '); exit 4",
        ]),
    );
    note(
        &mut seen,
        "exec -t",
        &podman.run(&["exec", "-t", &name, "tty"]),
    );
    note(&mut seen, "pause", &podman.run(&["pause", &name]));
    let now = podman.status_of(&name);
    seen.push(format!("after pause: {}", now));
    note(&mut seen, "unpause", &podman.run(&["unpause", &name]));
    let now = podman.status_of(&name);
    seen.push(format!("after unpause: {}", now));
    note(&mut seen, "stop", &podman.run(&["stop", "-t", "1", &name]));
    let now = podman.wait_status(&name, "exited");
    seen.push(format!("after stop: {}", now));
    note(&mut seen, "rm -f", &podman.run(&["rm", "-f", &name]));
    // Detached, killed.
    let out = podman.run(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]);
    assert!(out.status.success(), "run -d: {}", stderr(&out));
    ids.push(stdout(&out).trim().to_string());
    note(&mut seen, "kill", &podman.run(&["kill", &name]));
    let now = podman.wait_status(&name, "exited");
    seen.push(format!("after kill: {}", now));
    note(
        &mut seen,
        "rm -f (killed)",
        &podman.run(&["rm", "-f", &name]),
    );
    (seen, ids)
}

#[test]
fn podman_runs_our_runtime_as_it_runs_runc() {
    if !require_root("podman_runs_our_runtime_as_it_runs_runc")
        || !require_tool("podman", "podman")
        || !require_tool("podman", "runc")
        || !require_tool("podman", "conmon")
    {
        return;
    }
    let rootfs = Rootfs::busybox();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("busybox-oci.tar");
    image::write_oci_archive(rootfs.path(), IMAGE, &archive);

    let runc = minibox_testkit::which("runc").expect("runc");
    let (reference, _) = scenarios(&Podman::new(&runc, &archive));
    let (ours, ids) = scenarios(&Podman::new(Path::new(runtime_bin()), &archive));
    eprintln!("observed under runc and ours: {ours:#?}");
    assert_eq!(reference.len(), ours.len());
    for (r, o) in reference.iter().zip(&ours) {
        assert_eq!(o, r, "ch08-runtime (left) differs from runc (right)");
    }
    // And what runc showed is what a container should show.
    assert!(
        ours[0].contains("exit Some(3) out \"hello\\n0 1024\""),
        "{ours:?}"
    );
    assert!(ours[1].contains("/dev/pts/0"), "{ours:?}");
    assert!(ours.iter().any(|l| l == "after pause: paused"), "{ours:?}");
    // Nothing of the removed containers is left: no state, no cgroup.
    for id in &ids {
        assert!(
            !Path::new(ch08_runtime::state::DEFAULT_ROOT)
                .join(id)
                .exists(),
            "state of {id} left"
        );
        assert!(
            cgroup_dirs_named(&format!("libpod-{id}")).is_empty(),
            "cgroup of {id} left"
        );
    }
}
