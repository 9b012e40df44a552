//! Nothing is left behind — no mount, no state directory — however the
//! container ends: normally, with an error, killed, or when we are told to stop.

mod common;

use common::*;
use minibox_testkit::session::without_terminal;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn no_mount_or_directory_is_left_behind() {
    if !require_root("no_mount_or_directory_is_left_behind") {
        return;
    }
    let layers = Layers::new();
    let shared = SharedRoot::new();
    for (argv, code) in [
        (&["true"][..], 0),
        (&["sh", "-c", "echo x > /x; exit 7"][..], 7),
        (&["sh", "-c", "echo x > /x; kill -9 $$"][..], 137),
        (&["/no/such/command"][..], 127),
    ] {
        let mut cmd = layers.command_in(&shared);
        cmd.arg("-q").arg("--").args(argv);
        let output = output_within(&mut cmd, DEADLINE);
        assert_exit(&output, code);
        assert!(
            layers.kept().is_empty(),
            "{argv:?} left {:?}",
            layers.kept()
        );
        assert_eq!(
            layers.mounts_in(&shared),
            Vec::<String>::new(),
            "{argv:?} leaked a mount"
        );
    }
}

/// Reads `pipe` on a thread into a shared buffer the test can watch.
fn watch(pipe: Option<impl Read + Send + 'static>) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let writer = Arc::clone(&seen);
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            if let Ok(mut seen) = writer.lock() {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    seen
}

/// Waits until `text` shows up in what `watch` has read; stops `child` and fails otherwise.
fn wait_for_text(child: &mut Child, seen: &Mutex<String>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.lock().is_ok_and(|s| s.contains(text)) {
        if Instant::now() > deadline {
            let so_far = seen.lock().map(|s| s.clone()).unwrap_or_default();
            stop(child, &format!("{text:?} never came; got:\n{so_far}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `signal` is still pending for `pid` (not yet handled), from /proc.
fn pending(pid: Pid, signal: Signal) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .any(|mask| mask & (1 << (signal as i32 - 1)) != 0)
}

#[test]
fn sigterm_to_the_supervisor_stops_the_container_and_cleans_up() {
    if !require_root("sigterm_to_the_supervisor_stops_the_container_and_cleans_up") {
        return;
    }
    let layers = Layers::new();
    let shared = SharedRoot::new();
    // The command says when it runs; only then do we signal.
    let mut child = layers
        .command_in(&shared)
        .args([
            "-q",
            "--",
            "sh",
            "-c",
            "echo x > /x; echo ready; exec sleep 30",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = watch(child.stdout.take());
    wait_for_text(&mut child, &stdout, "ready\n");
    if !layers.kept().iter().any(|s| s.join("upper/x").exists()) {
        stop(
            &mut child,
            "the container's write is not in its upper layer",
        );
    }
    let supervisor = Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(supervisor, Signal::SIGTERM);
    // sleep 30 would end by itself with 0: 143 can only come from our SIGTERM.
    let status = wait_within(
        &mut child,
        Duration::from_secs(25),
        "the supervisor after SIGTERM",
    );
    // The leak first: a run that leaks its overlay also fails to clean up.
    assert_eq!(layers.mounts_in(&shared), Vec::<String>::new());
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "sleep died of the forwarded SIGTERM"
    );
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
}

#[test]
fn a_sigterm_during_start_up_still_stops_the_container() {
    if !require_root("a_sigterm_during_start_up_still_stops_the_container") {
        return;
    }
    let layers = Layers::new();
    let shared = SharedRoot::new();
    // --pause holds the container's init inside its setup (after the overlay
    // mount, before pivot_root and the command): the supervisor already knows
    // its PID, but the init does not handle signals yet.
    let mut cmd = layers.command_in(&shared);
    cmd.args(["--pause", "--", "sh", "-c", "exec sleep 30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // No controlling terminal: the trainer's pause reads our pipe, not the
    // developer's /dev/tty.
    let mut child = without_terminal(&mut cmd)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = watch(child.stderr.take());
    wait_for_text(&mut child, &stderr, "Press Enter");
    let supervisor = Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(supervisor, Signal::SIGTERM);
    // Until the supervisor's handler has run, the signal is merely pending.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pending(supervisor, Signal::SIGTERM) {
        if Instant::now() > deadline {
            stop(&mut child, "the supervisor never handled SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Enter: the setup goes on, the command starts — and must get the SIGTERM.
    // (Then EOF: the trainer's pause after the exit returns at once.)
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let status = wait_within(
        &mut child,
        Duration::from_secs(25),
        "a container told to stop during start-up",
    );
    let log = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(layers.mounts_in(&shared), Vec::<String>::new(), "{log}");
    assert_eq!(status.code(), Some(128 + 15), "stderr:\n{log}");
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
}
