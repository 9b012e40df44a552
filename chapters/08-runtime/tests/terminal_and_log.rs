//! The engine's side of three protocols, played by the test: the console
//! socket (receive the pty master over SCM_RIGHTS), a detached exec with a
//! PID file, and containerd's JSON log.

// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

mod common;

use common::*;
use minibox_testkit::{require_root, unique_name};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

/// Accepts one connection and receives one fd with its message (the pty's name).
fn receive_master(listener: UnixListener) -> (String, OwnedFd) {
    let (stream, _) = listener.accept().expect("accept");
    let mut name = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for cmsg in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // Safety: the kernel just gave us this descriptor; we own it now.
            fd = fds.first().map(|raw| unsafe { OwnedFd::from_raw_fd(*raw) });
        }
    }
    let len = msg.bytes;
    let name = String::from_utf8_lossy(&name[..len]).into_owned();
    (name, fd.expect("an fd came with the message"))
}

#[test]
fn a_terminal_goes_to_the_console_socket_as_a_pty_master() {
    if !require_root("a_terminal_goes_to_the_console_socket_as_a_pty_master") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&["sh", "-c", "tty; stty size; echo done"]);
    bundle.config["process"]["terminal"] = true.into();
    bundle.config["process"]["consoleSize"] = serde_json::json!({"height": 30, "width": 100});
    bundle.write();
    let sockets = tempfile::tempdir().expect("tempdir");
    let socket = sockets.path().join("console.sock");
    let listener = UnixListener::bind(&socket).expect("listen");
    let receiver = std::thread::spawn(move || receive_master(listener));
    let id = unique_name("tty");
    let out = root.run(&[
        "create",
        "--bundle",
        &bundle.path().display().to_string(),
        "--console-socket",
        &socket.display().to_string(),
        &id,
    ]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let (name, master) = receiver.join().expect("receiver");
    assert!(
        name.starts_with("/dev/pts/"),
        "the message names the pty: {name}"
    );
    assert!(root.run(&["start", &id]).status.success());
    // Read what the program writes to its terminal until it exits (EIO on a pty).
    let mut master = std::fs::File::from(master);
    let mut seen = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while !seen.contains("done") && start.elapsed() < LIMIT {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert_eq!(
        seen, "/dev/pts/0\r\n30 100\r\ndone\r\n",
        "a pty of the container's own devpts, of the configured size"
    );
    root.wait_status(&id, "stopped");
    assert!(root.run(&["delete", &id]).status.success());
}

#[test]
fn a_detached_exec_writes_its_pid_and_outlives_the_runtime() {
    if !require_root("a_detached_exec_writes_its_pid_and_outlives_the_runtime") {
        return;
    }
    let root = Root::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let logs = tempfile::tempdir().expect("tempdir");
    let id = unique_name("detach");
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    assert!(root.run(&["start", &id]).status.success());
    let pid_file = logs.path().join("exec.pid");
    let process = logs.path().join("process.json");
    std::fs::write(&process, serde_json::json!({"args": ["sleep", "999"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"]}).to_string()).expect("process.json");
    // The detached process keeps the runtime's stdio: files, not pipes a test would wait on.
    let err_file = logs.path().join("exec.err");
    let status = root
        .cmd()
        .args(["exec", "--detach", "--process"])
        .arg(&process)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_file).expect("err file"))
        .status()
        .expect("exec");
    assert!(
        status.success(),
        "exec --detach: {}",
        std::fs::read_to_string(&err_file).unwrap_or_default()
    );
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .parse()
        .expect("a number");
    assert!(alive(pid), "the exec'd process runs after `exec` returned");
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert_eq!(cmdline, "sleep\0999\0");
    let ps = root.run(&["ps", "--format", "json", &id]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).expect("json");
    assert!(
        pids.contains(&pid),
        "it is in the container's cgroup: {pids:?}"
    );
    assert!(root.run(&["delete", "--force", &id]).status.success());
    let start = Instant::now();
    while alive(pid) && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(pid),
        "delete --force ends every process of the container"
    );
}

#[test]
fn with_a_json_log_every_line_is_json_and_the_error_is_the_last_one() {
    if !require_root("with_a_json_log_every_line_is_json_and_the_error_is_the_last_one") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&["no-such-program"]);
    bundle.config["process"]["apparmorProfile"] = "x".into();
    bundle.write();
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("log.json");
    let id = unique_name("log");
    let out = root.run(&[
        "--log",
        &log.display().to_string(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        &bundle.path().display().to_string(),
        &id,
    ]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "", "nothing on stdout");
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "warning"
            && l["msg"]
                .as_str()
                .is_some_and(|m| m.contains("apparmorProfile"))),
        "{text}"
    );
    let last = lines.last().expect("a line");
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-program")),
        "{text}"
    );
    assert!(last["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}
