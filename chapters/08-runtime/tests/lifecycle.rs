//! The OCI lifecycle against the real kernel: create → start → state → kill
//! → delete, each a separate process, and what is left afterwards.

mod common;

use common::*;
use minibox_testkit::require_root;
use std::time::Duration;

const LOOP: &[&str] = &[
    "sh",
    "-c",
    "echo started; trap 'echo got TERM; exit 3' TERM; while true; do sleep 0.1; done",
];

#[test]
fn create_waits_start_runs_kill_stops_delete_removes_everything() {
    if !require_root("create_waits_start_runs_kill_stops_delete_removes_everything") {
        return;
    }
    let root = Root::new();
    let bundle = Bundle::new(LOOP);
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("life");

    let out = root.create(&bundle, &id, logs.path());
    assert!(out.status.success(), "create: {}", stderr(&out));
    let state = root.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["ociVersion"], "1.0.2");
    assert_eq!(state["id"], id.as_str());
    let pid = state["pid"].as_i64().expect("a pid");
    assert!(
        pid > 0 && alive(pid),
        "the container's process exists before start"
    );
    let pid_file =
        std::fs::read_to_string(logs.path().join(format!("{id}.pid"))).expect("pid file");
    assert_eq!(
        pid_file,
        pid.to_string(),
        "--pid-file holds the same PID, no newline"
    );
    // Created, not started: the program has not run a single line.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        std::fs::read_to_string(logs.path().join(format!("{id}.out"))).unwrap_or_default(),
        ""
    );
    assert!(
        root.dir.path().join(&id).join("exec.fifo").exists(),
        "the exec FIFO waits under --root"
    );
    let cgroups = cgroup_dirs_named(&id);
    assert!(!cgroups.is_empty(), "create made the container's cgroup");
    let procs = std::fs::read_to_string(cgroups[0].join("cgroup.procs")).unwrap_or_default();
    assert!(
        procs.lines().any(|l| l.trim() == pid.to_string()),
        "the process is in its cgroup before it runs: {procs}"
    );

    let out = root.run(&["start", &id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    root.wait_status(&id, "running");
    assert!(
        !root.dir.path().join(&id).join("exec.fifo").exists(),
        "start removes the FIFO"
    );
    let out = root.run(&["start", &id]);
    assert!(!out.status.success(), "a second start is refused");

    // A running container is not deleted without --force.
    let out = root.run(&["delete", &id]);
    assert!(
        !out.status.success() && stderr(&out).contains("running"),
        "{}",
        stderr(&out)
    );

    let out = root.run(&["kill", &id, "TERM"]);
    assert!(out.status.success(), "kill: {}", stderr(&out));
    root.wait_status(&id, "stopped");
    let printed =
        std::fs::read_to_string(logs.path().join(format!("{id}.out"))).unwrap_or_default();
    assert_eq!(
        printed, "started\ngot TERM\n",
        "the program ran after start and got the signal"
    );
    let out = root.run(&["kill", &id, "KILL"]);
    assert!(
        !out.status.success(),
        "kill of a stopped container is an error"
    );

    let out = root.run(&["delete", &id]);
    assert!(out.status.success(), "delete: {}", stderr(&out));
    assert!(!root.dir.path().join(&id).exists(), "state directory gone");
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "cgroup gone: {:?}",
        cgroup_dirs_named(&id)
    );
    assert!(!alive(pid));
    let out = root.run(&["state", &id]);
    assert!(!out.status.success() && stderr(&out).contains("does not exist"));
}

#[test]
fn run_returns_the_exit_code_and_leaves_nothing() {
    if !require_root("run_returns_the_exit_code_and_leaves_nothing") {
        return;
    }
    let root = Root::new();
    let bundle = Bundle::new(&["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let id = minibox_testkit::unique_name("run");
    let (code, out, err) = run_bundle(&root, &bundle, &id);
    assert_eq!(code, 7, "{err}");
    assert_eq!(
        out, "out\n",
        "the container's stdout is ours, with nothing else on it"
    );
    assert!(err.contains("err"));
    assert!(!root.dir.path().join(&id).exists());
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn kill_9_of_create_leaves_a_container_delete_force_removes() {
    if !require_root("kill_9_of_create_leaves_a_container_delete_force_removes") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(LOOP);
    // A prestart hook that does not end: create is killed while it waits
    // there, with the state directory, the cgroup and the container's process made.
    let hook_pid = bundle.path().join("hook.pid");
    bundle.config["hooks"] = serde_json::json!({"prestart": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo $$ > {}; exec sleep 1000", hook_pid.display())]
    }]});
    bundle.write();
    let id = minibox_testkit::unique_name("k9");
    let mut create = root
        .cmd()
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("create");
    let start = std::time::Instant::now();
    let pid = loop {
        let state = root.run(&["state", &id]);
        let pid = serde_json::from_slice::<serde_json::Value>(&state.stdout)
            .ok()
            .and_then(|s| s["pid"].as_i64());
        if let Some(pid) = pid.filter(|p| *p > 0) {
            break pid;
        }
        assert!(start.elapsed() < LIMIT, "create never recorded a PID");
        std::thread::sleep(Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(create.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 create");
    let _ = create.wait();
    // The hook is a process of ours too: end it.
    if let Ok(text) = std::fs::read_to_string(&hook_pid) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    assert!(root.dir.path().join(&id).exists());
    assert!(!cgroup_dirs_named(&id).is_empty(), "the cgroup was made");

    let out = root.run(&["delete", "--force", &id]);
    assert!(out.status.success(), "delete --force: {}", stderr(&out));
    assert!(!root.dir.path().join(&id).exists(), "state gone");
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroup gone");
    let start = std::time::Instant::now();
    while alive(pid) && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "the container's process is gone");
}

#[test]
fn delete_of_a_created_container_kills_it_before_it_ever_ran() {
    if !require_root("delete_of_a_created_container_kills_it_before_it_ever_ran") {
        return;
    }
    let root = Root::new();
    let bundle = Bundle::new(&["sh", "-c", "echo ran"]);
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("del");
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    let pid = root.state(&id)["pid"].as_i64().expect("pid");
    let out = root.run(&["delete", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!alive(pid));
    assert_eq!(
        std::fs::read_to_string(logs.path().join(format!("{id}.out"))).unwrap_or_default(),
        ""
    );
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn exec_ps_pause_resume_and_list() {
    if !require_root("exec_ps_pause_resume_and_list") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["hostname"] = "box".into();
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("exec");
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    assert!(root.run(&["start", &id]).status.success());
    let init = root.state(&id)["pid"].as_i64().expect("pid");

    let out = root.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "hostname; echo $$; cat /proc/1/cmdline | tr '\\0' ' '; exit 4",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "exec returns the process's status: {}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&out),
        "box\n2\nsleep 1000 ",
        "inside every namespace: the hostname, PID 2, sleep as PID 1"
    );

    let out = root.run(&["exec", &id, "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));

    let ps = root.run(&["ps", "--format", "json", &id]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).expect("ps json");
    assert_eq!(pids, vec![init], "only sleep is left in the cgroup");

    assert!(root.run(&["pause", &id]).status.success());
    assert_eq!(root.state(&id)["status"], "paused");
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap_or_default();
    assert!(
        stat.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with(['D', 'S']),
        "frozen: {stat}"
    );
    let out = root.run(&["exec", &id, "true"]);
    assert!(!out.status.success(), "no exec into a paused container");
    assert!(root.run(&["resume", &id]).status.success());
    assert_eq!(root.state(&id)["status"], "running");

    let list = root.run(&["list", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_slice(&list.stdout).expect("list json");
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["status"], "running");

    assert!(root.run(&["delete", "--force", &id]).status.success());
    assert!(!alive(init));
    assert!(cgroup_dirs_named(&id).is_empty());
}

#[test]
fn a_reused_pid_is_not_our_container() {
    if !require_root("a_reused_pid_is_not_our_container") {
        return;
    }
    let root = Root::new();
    let bundle = Bundle::new(LOOP);
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("reuse");
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    // Pretend the container died and its PID went to another process: ours.
    let state_file = root.dir.path().join(&id).join("state.json");
    let real: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).expect("state")).expect("json");
    let mut faked = real.clone();
    faked["pid"] = std::process::id().into();
    std::fs::write(&state_file, serde_json::to_vec(&faked).expect("json")).expect("write");
    assert_eq!(
        root.state(&id)["status"],
        "stopped",
        "same PID, other start time: not ours"
    );
    let out = root.run(&["kill", &id, "KILL"]);
    assert!(
        !out.status.success(),
        "never signal a process that merely has the PID"
    );
    std::fs::write(&state_file, serde_json::to_vec(&real).expect("json")).expect("restore");
}

#[test]
fn spec_writes_a_config_that_runs_and_features_and_version_answer() {
    if !require_root("spec_writes_a_config_that_runs_and_features_and_version_answer") {
        return;
    }
    let bundle = Bundle::new(&["true"]);
    let dir = bundle.path();
    let root = Root::new();
    let out = root
        .cmd()
        .current_dir(dir)
        .arg("spec")
        .output()
        .expect("spec");
    assert!(out.status.success(), "{}", stderr(&out));
    let again = root
        .cmd()
        .current_dir(dir)
        .arg("spec")
        .output()
        .expect("spec");
    assert!(!again.status.success(), "spec never overwrites");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).expect("read"))
            .expect("json");
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "echo $(hostname) $(cat /proc/self/status | grep CapEff)"
    ]);
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec(&config).expect("json"),
    )
    .expect("write");
    let out = root.run(&["run", "--bundle", &dir.display().to_string(), "spec1"]);
    assert_eq!(
        stdout(&out),
        "minibox CapEff: 0000000020000420\n",
        "runc's three capabilities: {}",
        stderr(&out)
    );
    let features = root.run(&["features"]);
    let features: serde_json::Value =
        serde_json::from_slice(&features.stdout).expect("features json");
    assert_eq!(features["linux"]["seccomp"]["enabled"], true);
    let version = root.run(&["--version"]);
    assert!(stdout(&version).contains("spec: 1.0.2"));
}

#[test]
fn the_init_annotation_puts_chapter_02s_reaping_init_at_pid_1() {
    if !require_root("the_init_annotation_puts_chapter_02s_reaping_init_at_pid_1") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "echo $$ $(cat /proc/1/comm); sleep 0.1 & wait; exit 5",
    ]);
    bundle.config["annotations"] = serde_json::json!({"run.oci.minibox.init": "true"});
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("init");
    // create, then exit: the init must outlive create (no death signal) and wait at the gate.
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(root.state(&id)["status"], "created");
    assert!(root.run(&["start", &id]).status.success());
    root.wait_status(&id, "stopped");
    let printed =
        std::fs::read_to_string(logs.path().join(format!("{id}.out"))).unwrap_or_default();
    assert_eq!(
        printed, "2 minibox-init\n",
        "the program is PID 2, under chapter 02's init"
    );
    assert!(root.run(&["delete", &id]).status.success());
}

#[test]
fn the_program_inherits_stdio_only_never_the_runtimes_descriptors() {
    if !require_root("the_program_inherits_stdio_only_never_the_runtimes_descriptors") {
        return;
    }
    let root = Root::new();
    // `ls` opens the directory it lists: that is the 3.
    let bundle = Bundle::new(&["ls", "/proc/self/fd"]);
    bundle.write();
    let id = minibox_testkit::unique_name("fds");
    let held = std::fs::File::open("/").expect("an fd for the runtime to inherit");
    let mut cmd = root.cmd();
    cmd.args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(&id)
        .stdin(std::process::Stdio::null());
    // Give the runtime one more descriptor (a host directory!) than stdio.
    let raw = std::os::fd::AsRawFd::as_raw_fd(&held);
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            // Safety: dup2 between fork and exec, no allocation.
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = minibox_testkit::bounded::output_within(&mut cmd, LIMIT);
    assert_eq!(stdout(&out), "0\n1\n2\n3\n", "{}", stderr(&out));
}

#[test]
fn kill_all_signals_every_process_of_the_cgroup() {
    if !require_root("kill_all_signals_every_process_of_the_cgroup") {
        return;
    }
    let root = Root::new();
    // Without a PID namespace, killing PID 1 would leave the children: --all reaches them.
    let mut bundle = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    bundle.config["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "ipc"}]);
    bundle.config["hostname"] = serde_json::Value::Null;
    let logs = tempfile::tempdir().expect("tempdir");
    let id = minibox_testkit::unique_name("all");
    assert!(root.create(&bundle, &id, logs.path()).status.success());
    assert!(root.run(&["start", &id]).status.success());
    let start = std::time::Instant::now();
    let pids = loop {
        let ps = root.run(&["ps", "--format", "json", &id]);
        let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).expect("json");
        if pids.len() == 3 || start.elapsed() > LIMIT {
            break pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 3, "sh and two sleeps: {pids:?}");
    let out = root.run(&["kill", "--all", &id, "9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let start = std::time::Instant::now();
    while pids.iter().any(|p| alive(*p)) && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "every process of the container is gone"
    );
    let out = root.run(&["kill", &id, "NOSUCHSIG"]);
    assert!(
        stderr(&out).contains("unknown signal \"NOSUCHSIG\""),
        "{}",
        stderr(&out)
    );
    assert!(root.run(&["delete", &id]).status.success());
}
