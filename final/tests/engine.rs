//! The engine end to end through the `minibox` CLI, as root: a busybox
//! image imported into a fresh --root per test, then docker's lifecycle.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{collect, no_mounts_under, stdout, wait_until, Root};
use minibox_testkit::require_root;
use std::path::Path;
use std::time::Duration;

#[test]
fn exit_codes_are_dockers() {
    if !require_root("exit_codes_are_dockers") {
        return;
    }
    let root = Root::new();
    let out = root.run(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "hello\n")
    );
    assert_eq!(
        root.run(&["run", "--rm", "busybox", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
    assert_eq!(
        root.run(&["run", "--rm", "busybox", "no-such-command"])
            .status
            .code(),
        Some(127)
    );
    assert_eq!(
        root.run(&["run", "--rm", "no-such-image-here"])
            .status
            .code(),
        Some(125)
    );
    assert!(no_mounts_under(root.path()));
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
}

#[test]
fn detached_lifecycle_ps_logs_exec_stop_rm() {
    if !require_root("detached_lifecycle_ps_logs_exec_stop_rm") {
        return;
    }
    let root = Root::new();
    let script = "trap 'echo bye; exit 3' TERM; echo started; while true; do sleep 0.1; done";
    let out = root.run(&["run", "-d", "--name", "web", "busybox", "sh", "-c", script]);
    assert!(out.status.success());
    let id = stdout(&out).trim().to_string();
    assert_eq!(id.len(), 64);
    // `run -d` returns once the container runs, as docker's does.
    assert!(stdout(&root.run(&["ps"])).contains("web"));
    // The trap is set once "started" is in the log: only then is a stop's TERM caught.
    wait_until(
        "the container's first line in its log",
        Duration::from_secs(10),
        || stdout(&root.run(&["logs", "web"])).contains("started"),
    );
    let exec = root.run(&["exec", "-e", "X=42", "web", "sh", "-c", "echo $X"]);
    assert_eq!(stdout(&exec), "42\n");
    // The name is taken: the error names the other container; nothing new appears.
    let clash = root.run(&["run", "--name", "web", "busybox", "true"]);
    assert_eq!(clash.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&clash.stderr).contains(&id));
    // SIGTERM honoured: the trap's exit code.
    assert!(root.run(&["stop", "-t", "5", "web"]).status.success());
    let inspect: serde_json::Value =
        serde_json::from_slice(&root.run(&["inspect", "web"]).stdout).expect("json");
    assert_eq!(inspect[0]["State"]["ExitCode"], 3);
    assert_eq!(inspect[0]["State"]["Status"], "exited");
    let logs = stdout(&root.run(&["logs", "web"]));
    assert!(logs.contains("started") && logs.contains("bye"), "{logs}");
    assert!(root.run(&["rm", "web"]).status.success());
    assert!(no_mounts_under(root.path()));
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
}

#[test]
fn stop_kills_after_the_timeout_and_oom_is_reported() {
    if !require_root("stop_kills_after_the_timeout_and_oom_is_reported") {
        return;
    }
    let root = Root::new();
    let out = root.run(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]);
    assert!(out.status.success());
    assert!(root.run(&["stop", "-t", "1", "stubborn"]).status.success());
    let inspect: serde_json::Value =
        serde_json::from_slice(&root.run(&["inspect", "stubborn"]).stdout).expect("json");
    assert_eq!(inspect[0]["State"]["ExitCode"], 137);
    let oom = root.run(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "8m",
        "busybox",
        "sh",
        "-c",
        "x=a; while true; do x=$x$x; done",
    ]);
    assert_eq!(oom.status.code(), Some(137));
    let inspect: serde_json::Value =
        serde_json::from_slice(&root.run(&["inspect", "hog"]).stdout).expect("json");
    assert_eq!(inspect[0]["State"]["OOMKilled"], true);
}

#[test]
fn read_only_volume_refuses_a_write_and_bad_input_changes_nothing() {
    if !require_root("read_only_volume_refuses_a_write_and_bad_input_changes_nothing") {
        return;
    }
    let root = Root::new();
    let vol = tempfile::tempdir().expect("tempdir");
    let spec = format!("{}:/data:ro", vol.path().display());
    let out = root.run(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!vol.path().join("f").exists());
    for bad in [
        vec!["run", "-v", "relative:/x", "busybox", "true"],
        vec!["run", "--memory", "lots", "busybox", "true"],
        vec!["run", "--runtime", "no-such-runtime", "busybox", "true"],
        vec!["run", "--entrypoint", "", "busybox"],
    ] {
        let out = root.run(&bad);
        assert_eq!(out.status.code(), Some(125), "{bad:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
    assert!(no_mounts_under(root.path()));
}

#[test]
fn commit_then_run_sees_the_change() {
    if !require_root("commit_then_run_sees_the_change") {
        return;
    }
    let root = Root::new();
    assert!(root
        .run(&[
            "run",
            "--name",
            "changer",
            "busybox",
            "sh",
            "-c",
            "echo kept > /etc/note; rm -f /etc/group"
        ])
        .status
        .success());
    let diff = stdout(&root.run(&["diff", "changer"]));
    assert!(
        diff.contains("A /etc/note") && diff.contains("D /etc/group"),
        "{diff}"
    );
    assert!(root
        .run(&["commit", "changer", "busybox:changed"])
        .status
        .success());
    let out = root.run(&[
        "run",
        "--rm",
        "busybox:changed",
        "sh",
        "-c",
        "cat /etc/note; test -e /etc/group || echo gone",
    ]);
    assert_eq!(stdout(&out), "kept\ngone\n");
}

#[test]
fn killed_shim_is_reconciled_and_removed_without_leftovers() {
    if !require_root("killed_shim_is_reconciled_and_removed_without_leftovers") {
        return;
    }
    let root = Root::new();
    let out = root.run(&["run", "-d", "busybox", "sleep", "1000"]);
    let id = stdout(&out).trim().to_string();
    let inspect: serde_json::Value =
        serde_json::from_slice(&root.run(&["inspect", &id]).stdout).expect("json");
    let shim = inspect[0]["Shim"].as_i64().expect("a shim PID") as i32;
    let cgroups = root.cgroup_dirs(&id);
    assert!(!cgroups.is_empty());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    wait_until("the shim's end", Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{shim}/stat"))
            .map_or(true, |stat| stat.contains(") Z "))
    });
    let ps = stdout(&root.run(&["ps", "-a"]));
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert!(root.run(&["rm", &id]).status.success());
    assert!(no_mounts_under(root.path()));
    for dir in cgroups {
        assert!(!Path::new(&dir).exists(), "{dir} left behind");
    }
}

#[test]
fn twenty_parallel_runs_all_succeed() {
    if !require_root("twenty_parallel_runs_all_succeed") {
        return;
    }
    let root = Root::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            root.command(&["run", "--rm", "busybox", "echo", &format!("n{i}")])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = minibox_testkit::bounded::collect_within(child, Duration::from_secs(120), "run");
        assert_eq!(stdout(&out), format!("n{i}\n"));
    }
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
    assert!(no_mounts_under(root.path()));
}

#[test]
fn runc_gives_the_same_results() {
    if !require_root("runc_gives_the_same_results")
        || !minibox_testkit::require_tool("runc_gives_the_same_results", "runc")
    {
        return;
    }
    let root = Root::new();
    let out = root.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "busybox",
        "sh",
        "-c",
        "echo via runc; exit 4",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(4), "via runc\n")
    );
    assert_eq!(
        root.run(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "no-such-command"
        ])
        .status
        .code(),
        Some(127)
    );
    assert!(no_mounts_under(root.path()));
}

#[test]
fn seccomp_and_the_device_cgroup_hold_with_every_runtime() {
    if !require_root("seccomp_and_the_device_cgroup_hold_with_every_runtime") {
        return;
    }
    let root = Root::new();
    let mut runtimes = vec!["ours"];
    if minibox_testkit::require_tool(
        "seccomp_and_the_device_cgroup_hold_with_every_runtime",
        "runc",
    ) {
        runtimes.push("runc");
    }
    // A block device node may be made (CAP_MKNOD) but not opened: the
    // device cgroup allows only docker's default devices.
    let script = "grep Seccomp: /proc/self/status; mknod /tmp/disk b 7 0; \
                  head -c1 /tmp/disk >/dev/null 2>&1 || echo refused";
    for runtime in runtimes {
        let out = root.run(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "busybox",
            "sh",
            "-c",
            script,
        ]);
        assert_eq!(stdout(&out), "Seccomp:\t2\nrefused\n", "{runtime}");
        let out = root.run(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "grep",
            "Seccomp:",
            "/proc/self/status",
        ]);
        assert_eq!(stdout(&out), "Seccomp:\t0\n", "{runtime}");
    }
}

/// A pseudo-terminal driven by the test, as a person at a keyboard: the
/// CLI gets the slave as its controlling terminal, the test types into the
/// master and reads what the terminal shows.
struct Pty {
    master: std::fs::File,
    screen: std::sync::Arc<std::sync::Mutex<String>>,
    child: std::process::Child,
}

impl Pty {
    fn spawn(root: &Root, args: &[&str]) -> Pty {
        use std::os::unix::process::CommandExt;
        let size = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = std::fs::File::from(pty.slave);
        let mut cmd = root.command(args);
        cmd.stdin(slave.try_clone().expect("dup"))
            .stdout(slave.try_clone().expect("dup"))
            .stderr(slave.try_clone().expect("dup"));
        // Safety: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                // A session of its own with the pty as controlling terminal, as a login shell has.
                libc::setsid();
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn minibox");
        drop(slave);
        let master = std::fs::File::from(pty.master);
        // Read until EIO: every slave descriptor is closed, the session ended.
        let screen = collect(Some(master.try_clone().expect("dup")));
        Pty {
            master,
            screen,
            child,
        }
    }

    fn type_line(&mut self, line: &str) {
        use std::io::Write;
        self.master
            .write_all(format!("{line}\r").as_bytes())
            .expect("typing");
    }

    /// Waits until the screen shows `text`.
    fn expect(&self, text: &str) {
        wait_until(
            &format!("the terminal to show {text:?}"),
            Duration::from_secs(20),
            || self.screen.lock().unwrap().contains(text),
        );
    }

    fn resize(&self, rows: u16, cols: u16) {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        use std::os::fd::AsRawFd;
        // Safety: TIOCSWINSZ reads one winsize; the kernel sends SIGWINCH to the CLI.
        assert_eq!(
            unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) },
            0
        );
    }

    fn wait(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "minibox did not exit; screen:\n{}",
                    self.screen.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The terminal's modes are back to cooked (echo, line editing) after the CLI left.
    fn is_cooked(&self) -> bool {
        let t = nix::sys::termios::tcgetattr(&self.master).expect("tcgetattr");
        use nix::sys::termios::LocalFlags;
        t.local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON)
    }
}

#[test]
fn run_it_under_a_real_pty_echoes_resizes_and_exits_with_the_code() {
    if !require_root("run_it_under_a_real_pty_echoes_resizes_and_exits_with_the_code") {
        return;
    }
    let root = Root::new();
    let mut pty = Pty::spawn(&root, &["run", "-it", "--rm", "busybox", "sh"]);
    pty.type_line("echo h''i");
    // The container's terminal echoes what was typed, then the shell's answer.
    pty.expect("echo h''i");
    pty.expect("\nhi\r\n");
    pty.type_line("stty size");
    pty.expect("24 80");
    pty.resize(40, 100);
    // The size travels CLI → shim → the container's pty; ask until it arrived.
    wait_until("the new size inside", Duration::from_secs(20), || {
        pty.type_line("stty size");
        std::thread::sleep(Duration::from_millis(100));
        pty.screen.lock().unwrap().contains("40 100")
    });
    pty.type_line("exit 3");
    assert_eq!(pty.wait(), Some(3));
    assert!(pty.is_cooked(), "the terminal was left in raw mode");
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
    assert!(no_mounts_under(root.path()));
}

#[test]
fn exec_it_under_a_real_pty() {
    if !require_root("exec_it_under_a_real_pty") {
        return;
    }
    let root = Root::new();
    let out = root.run(&["run", "-d", "--name", "box", "busybox", "sleep", "1000"]);
    assert!(out.status.success());
    let mut pty = Pty::spawn(&root, &["exec", "-it", "box", "sh"]);
    pty.type_line("echo $((6*7)) in $(hostname)");
    pty.expect("\n42 in ");
    pty.type_line("exit 5");
    assert_eq!(pty.wait(), Some(5));
    assert!(root.run(&["rm", "-f", "box"]).status.success());
    assert!(no_mounts_under(root.path()));
}

/// An image with docker's run-time config: ENTRYPOINT busybox, CMD
/// `echo from cmd`, an ENV, a WORKDIR and a user in its /etc/passwd.
fn configured_image(root: &Root) -> tempfile::TempDir {
    use minibox_testkit::oci::{ImageBuilder, Layer, OciLayout};
    let busybox = minibox_testkit::which("busybox").expect("busybox on PATH");
    let layer = Layer::new()
        .dir("bin", 0o755)
        .host_file("bin/busybox", &busybox, 0o755)
        .symlink("bin/sh", "busybox")
        .symlink("bin/id", "busybox")
        .dir("etc", 0o755)
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
            0o644,
        )
        .file("etc/group", b"root:x:0:\napp:x:1000:\n", 0o644)
        .dir("tmp", 0o1777)
        .dir("root", 0o700);
    let image = ImageBuilder::new()
        .layer(layer)
        .entrypoint(&["/bin/busybox"])
        .cmd(&["echo", "from cmd"])
        .env(&["GREETING=hi", "PATH=/bin"])
        .workdir("/opt/app")
        .build();
    let dir = tempfile::tempdir().expect("tempdir");
    OciLayout::create(dir.path()).add(&image, "v1");
    let out = root.run(&["import", &dir.path().display().to_string(), "conf:v1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn entrypoint_cmd_env_workdir_and_user_follow_dockers_rules() {
    if !require_root("entrypoint_cmd_env_workdir_and_user_follow_dockers_rules") {
        return;
    }
    let root = Root::new();
    let _layout = configured_image(&root);
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        let out = root.run(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    // ENTRYPOINT + CMD; arguments replace CMD only.
    assert_eq!(run(&["conf:v1"]), "from cmd\n");
    assert_eq!(run(&["conf:v1", "echo", "from args"]), "from args\n");
    // --entrypoint replaces ENTRYPOINT and drops the image's CMD (docker's rule).
    assert_eq!(run(&["--entrypoint", "/bin/sh", "conf:v1"]), "");
    assert_eq!(
        run(&[
            "--entrypoint",
            "/bin/sh",
            "conf:v1",
            "-c",
            "echo $GREETING in $(pwd)"
        ]),
        "hi in /opt/app\n"
    );
    // -e overrides the image's ENV; -w the WORKDIR (created when missing).
    assert_eq!(
        run(&[
            "-e",
            "GREETING=hello",
            "-w",
            "/srv/new",
            "conf:v1",
            "sh",
            "-c",
            "echo $GREETING in $(pwd)"
        ]),
        "hello in /srv/new\n"
    );
    let env_file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(env_file.path(), "# a comment\nFROM_FILE=yes\n").expect("write");
    assert_eq!(
        run(&[
            "--env-file",
            &env_file.path().display().to_string(),
            "conf:v1",
            "sh",
            "-c",
            "echo $FROM_FILE"
        ]),
        "yes\n"
    );
    // -u by name (the image's /etc/passwd) and by number.
    assert_eq!(
        run(&["-u", "app", "conf:v1", "id"]),
        "uid=1000(app) gid=1000(app)\n"
    );
    assert_eq!(
        run(&["-u", "1234:5678", "conf:v1", "sh", "-c", "id -u; id -g"]),
        "1234\n5678\n"
    );
    assert_eq!(run(&["conf:v1", "id", "-u"]), "0\n");
    // An unknown user is refused before anything starts.
    let out = root.run(&["run", "--rm", "-u", "nobody-here", "conf:v1", "id"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
}

fn spawn_cli(root: &Root, args: &[&str]) -> std::process::Child {
    root.command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn minibox")
}

#[test]
fn logs_follow_sees_a_line_written_after_it_started() {
    if !require_root("logs_follow_sees_a_line_written_after_it_started") {
        return;
    }
    let root = Root::new();
    let out = root.run(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1000",
    ]);
    assert!(out.status.success());
    let mut follow = spawn_cli(&root, &["logs", "-f", "talker"]);
    let shown = collect(follow.stdout.take());
    wait_until(
        "logs -f to show the first line",
        Duration::from_secs(10),
        || shown.lock().unwrap().contains("one\n"),
    );
    // A line written now, to the container's own stdout (its PID 1's fd 1).
    let exec = root.run(&["exec", "talker", "sh", "-c", "echo two > /proc/1/fd/1"]);
    assert!(exec.status.success());
    wait_until(
        "logs -f to show the new line",
        Duration::from_secs(10),
        || shown.lock().unwrap().contains("one\ntwo\n"),
    );
    // The container ends: so does the follower, as docker's does.
    assert!(root.run(&["stop", "-t", "1", "talker"]).status.success());
    let ended =
        minibox_testkit::bounded::collect_within(follow, Duration::from_secs(20), "logs -f");
    assert!(ended.status.success());
}

#[test]
fn kill_9_of_the_foreground_cli_leaves_the_container_to_its_shim() {
    if !require_root("kill_9_of_the_foreground_cli_leaves_the_container_to_its_shim") {
        return;
    }
    let root = Root::new();
    let mut cli = spawn_cli(
        &root,
        &[
            "run",
            "--name",
            "orphan",
            "busybox",
            "sh",
            "-c",
            "echo up; sleep 1000",
        ],
    );
    let shown = collect(cli.stdout.take());
    wait_until(
        "the container's first line",
        Duration::from_secs(20),
        || shown.lock().unwrap().contains("up\n"),
    );
    cli.kill().expect("SIGKILL the CLI");
    let _ = cli.wait();
    // The container runs on under its shim; ps says so.
    let ps = stdout(&root.run(&["ps"]));
    assert!(ps.contains("orphan") && ps.contains("Up"), "{ps}");
    let id = stdout(&root.run(&["ps", "-q", "--no-trunc"]))
        .trim()
        .to_string();
    let dirs = root.cgroup_dirs(&id);
    assert!(!dirs.is_empty());
    assert!(root.run(&["rm", "-f", "orphan"]).status.success());
    assert!(no_mounts_under(root.path()));
    for dir in dirs {
        assert!(!Path::new(&dir).exists(), "{dir} left behind");
    }
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
}

#[test]
fn run_rm_leaves_no_state_mount_or_cgroup() {
    if !require_root("run_rm_leaves_no_state_mount_or_cgroup") {
        return;
    }
    let root = Root::new();
    let out = root.run(&["run", "-d", "--rm", "busybox", "sleep", "1000"]);
    let id = stdout(&out).trim().to_string();
    let dirs = root.cgroup_dirs(&id);
    assert!(!dirs.is_empty());
    assert!(root.run(&["stop", "-t", "1", &id]).status.success());
    let dir = root.path().join("containers").join(&id);
    wait_until(
        "the container's directory to go",
        Duration::from_secs(20),
        || !dir.exists(),
    );
    assert!(no_mounts_under(root.path()));
    for dir in dirs {
        assert!(!Path::new(&dir).exists(), "{dir} left behind");
    }
    assert_eq!(stdout(&root.run(&["ps", "-aq"])), "");
}

#[test]
fn runc_lifecycle_matches_ours() {
    if !require_root("runc_lifecycle_matches_ours")
        || !minibox_testkit::require_tool("runc_lifecycle_matches_ours", "runc")
    {
        return;
    }
    let root = Root::new();
    let mut seen = Vec::new();
    for runtime in ["ours", "runc"] {
        let name = format!("life-{runtime}");
        let script = "trap 'echo bye; exit 3' TERM; echo started; while true; do sleep 0.1; done";
        let out = root.run(&[
            "run",
            "-d",
            "--runtime",
            runtime,
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            script,
        ]);
        assert!(
            out.status.success(),
            "{runtime}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wait_until("the trap to be set", Duration::from_secs(10), || {
            stdout(&root.run(&["logs", &name])).contains("started")
        });
        let exec = stdout(&root.run(&["exec", &name, "sh", "-c", "echo $$ $(hostname | wc -c)"]));
        let top = stdout(&root.run(&["top", &name]));
        assert!(root.run(&["stop", "-t", "5", &name]).status.success());
        let inspect: serde_json::Value =
            serde_json::from_slice(&root.run(&["inspect", &name]).stdout).expect("json");
        let logs = stdout(&root.run(&["logs", &name]));
        seen.push((
            exec.split_whitespace().nth(1).map(String::from),
            top.contains("sleep") || top.contains("sh"),
            inspect[0]["State"]["ExitCode"].clone(),
            inspect[0]["State"]["Status"].clone(),
            logs,
        ));
        assert!(root.run(&["rm", &name]).status.success());
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].2, 3);
    assert!(no_mounts_under(root.path()));
}

/// Whether `/proc/PID/exe` is one of chapter 07's unwritable views.
fn exe_is_unwritable_view(pid: i64) -> bool {
    std::fs::File::open(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| ch07_security::sealed_exe::view_of(&exe))
        .is_some()
}

#[test]
fn the_shim_and_exec_run_from_an_unwritable_view_of_the_binary() {
    if !require_root("the_shim_and_exec_run_from_an_unwritable_view_of_the_binary") {
        return;
    }
    // CVE-2019-5736: the container's init is a clone of the shim, and an
    // exec'd process a clone of `minibox exec`; until they exec, their
    // /proc/PID/exe is that process's binary. It must not be ours on disk.
    let root = Root::new();
    let out = root.run(&["run", "-d", "--name", "held", "busybox", "sleep", "1000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&root.run(&["inspect", "held"]).stdout).expect("json");
    let shim = inspect[0]["Shim"]
        .as_i64()
        .expect("the shim's PID in inspect");
    assert!(
        exe_is_unwritable_view(shim),
        "/proc/{shim}/exe (the shim) is {:?}",
        std::fs::read_link(format!("/proc/{shim}/exe"))
    );
    // A write through it is refused (the file on disk would take it).
    let write = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{shim}/exe"));
    assert!(write.is_err(), "/proc/{shim}/exe opened for writing");

    let mut exec = spawn_cli(&root, &["exec", "held", "sleep", "30"]);
    let cli = exec.id() as i64;
    wait_until(
        "`minibox exec` to run from an unwritable view",
        Duration::from_secs(20),
        || exe_is_unwritable_view(cli),
    );
    let _ = exec.kill();
    let _ = exec.wait();
    assert!(root.run(&["rm", "-f", "held"]).status.success());
    assert!(no_mounts_under(root.path()));
}

#[test]
fn a_closed_stderr_ends_the_narration_not_the_run() {
    if !require_root("a_closed_stderr_ends_the_narration_not_the_run") {
        return;
    }
    // A reader of the narration that goes away (`minibox run -v … 2>&1 |
    // head -3`): the CLI loses its stderr, the container still runs to its
    // end, the exit code is the container's, and --rm still cleans up.
    let root = Root::new();
    for lines in [0, 1, 3, 6] {
        let mut cmd = root.command(&[
            "run",
            "--rm",
            "--verbose",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 7",
        ]);
        let run = minibox_testkit::broken_pipe::closed_stderr_keeps_exit_code(
            &mut cmd,
            lines,
            7,
            "minibox run --verbose",
        );
        assert_eq!(run.other, "out\n", "the container's stdout is intact");
        root.assert_clean();
    }
}
