//! `run`/`create` flags end to end through the CLI, as root: `--group-add`,
//! `--ulimit`, `--security-opt seccomp=FILE`; trainer mode's `--pause`
//! stops; and which calls the engine makes of a runtime binary.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{collect, no_mounts_under, stderr, stdout, wait_until, Root};
use minibox_testkit::{require_root, require_tool};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// busybox with a user `app` who is a member of `staff` (GID 50) in /etc/group.
fn root_with_app_user() -> Root {
    Root::with_image(None, "busybox:latest", |rootfs| {
        let add = |file: &str, line: &str| {
            let path = rootfs.join(file);
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            text.push_str(line);
            std::fs::write(&path, text).unwrap();
        };
        add("etc/passwd", "app:x:1000:1000:app:/home/app:/bin/sh\n");
        add("etc/group", "app:x:1000:\nstaff:x:50:app\n");
    })
}

#[test]
fn group_add_and_ulimit_reach_the_process_and_inspect() {
    if !require_root("group_add_and_ulimit_reach_the_process_and_inspect") {
        return;
    }
    let root = root_with_app_user();
    // -u NAME: the user's groups from the image's /etc/group.
    let id = root.ok(&["run", "--rm", "-u", "app", "busybox", "id"]);
    assert_eq!(id, "uid=1000(app) gid=1000(app) groups=50(staff)\n");
    // --group-add by GID and by name, added to the user's own.
    let groups = root.ok(&[
        "run",
        "--rm",
        "--group-add",
        "1234",
        "--group-add",
        "staff",
        "busybox",
        "id",
        "-G",
    ]);
    assert_eq!(groups, "0 50 1234\n");
    let mut runtimes = vec!["ours"];
    if require_tool("group_add_and_ulimit_reach_the_process_and_inspect", "runc") {
        runtimes.push("runc");
    }
    for runtime in runtimes {
        let limits = root.ok(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--ulimit",
            "nofile=100:200",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn",
        ]);
        assert_eq!(limits, "100\n200\n", "{runtime}");
    }
    // Recorded as docker's HostConfig has them; exec -u gets them too.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "kept",
        "--group-add",
        "1234",
        "--ulimit",
        "NOFILE=100:200",
        "busybox",
        "sleep",
        "1000",
    ]);
    let host = &root.inspect("kept")["HostConfig"];
    assert_eq!(host["GroupAdd"], serde_json::json!(["1234"]));
    assert_eq!(
        host["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 100, "Hard": 200}])
    );
    let exec = root.ok(&["exec", "-u", "app", "kept", "id", "-G"]);
    assert_eq!(exec, "1000 50 1234\n");
    root.ok(&["rm", "-f", "kept"]);
    root.assert_clean();
}

#[test]
fn bad_groups_ulimits_and_seccomp_profiles_are_refused_before_anything_exists() {
    if !require_root("bad_groups_ulimits_and_seccomp_profiles_are_refused_before_anything_exists") {
        return;
    }
    let root = root_with_app_user();
    let cases: [(&[&str], &str); 9] = [
        (
            &["--ulimit", "nofile=lots"],
            "invalid --ulimit \"nofile=lots\"",
        ),
        (
            &["--ulimit", "nofile=300:200"],
            "soft limit 300 is above the hard limit 200",
        ),
        (&["--ulimit", "files=1"], "unknown rlimit \"files\""),
        (
            &["--group-add", "no-such-group"],
            "group \"no-such-group\" is not in /etc/group",
        ),
        (
            &["-u", "app:no-such-group"],
            "group \"no-such-group\" is not in /etc/group",
        ),
        (
            &["-u", "no-such-user"],
            "user \"no-such-user\" is not in /etc/passwd",
        ),
        (
            &["--security-opt", "seccomp=/nonexistent.json"],
            "reading the seccomp profile /nonexistent.json",
        ),
        (&["--security-opt", "seccomp"], "say which profile"),
        (
            &["--security-opt", "no-new-privileges=maybe"],
            "takes true or false",
        ),
    ];
    for (flags, why) in cases {
        // Without --rm: a failure after the record was written would leave it.
        for command in ["run", "create"] {
            let mut args = vec![command];
            args.extend_from_slice(flags);
            args.extend(["busybox", "true"]);
            let out = root.run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
            assert!(err.contains(why), "{args:?}: {err}");
            assert_eq!(
                err.lines().count(),
                1,
                "{args:?}: one line, said once: {err}"
            );
            assert_eq!(stdout(&out), "", "{args:?}");
            root.assert_clean();
        }
    }
    let containers = root.path().join("containers");
    let left: Vec<_> = std::fs::read_dir(&containers)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .collect();
    assert!(left.is_empty(), "container directories left: {left:?}");
}

/// Counts how often the trainer asked for Enter so far.
fn stops(shown: &std::sync::Mutex<String>) -> usize {
    shown.lock().unwrap().matches("Press Enter").count()
}

/// The text after `marker` on the first line of `shown` that has it.
fn after(shown: &std::sync::Mutex<String>, marker: &str) -> String {
    let text = shown.lock().unwrap();
    let line = text.lines().find(|l| l.contains(marker)).unwrap_or("");
    line.split_once(marker)
        .map_or("", |(_, rest)| rest)
        .trim()
        .to_string()
}

/// A process whose command line names the shim of container `id`.
fn shim_running(id: &str) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .any(|c| c.contains(" shim ") && c.contains(id))
}

/// What chapter 08 (the default runtime) says of the container.
fn runtime_status(root: &Root, id: &str) -> Option<String> {
    let runtime = ch08_runtime::Runtime::new(
        root.path().join("runtime"),
        ch08_runtime::RuntimeLog::silent(),
    );
    runtime.state(id).ok().map(|report| report.status)
}

#[test]
fn pause_stops_when_the_bundle_is_written_created_and_running() {
    if !require_root("pause_stops_when_the_bundle_is_written_created_and_running") {
        return;
    }
    let root = Root::new();
    // Runs until the test lets it end, so "running" can be looked at.
    let script = "echo hi; until [ -e /tmp/go ]; do sleep 0.05; done";
    let mut cmd = root.command(&[
        "--verbose",
        "run",
        "--rm",
        "--pause",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // No controlling terminal: the trainer's pause reads Enter from our pipe.
    minibox_testkit::session::without_terminal(&mut cmd);
    let mut cli = cmd.spawn().expect("spawn minibox");
    let mut enter = cli.stdin.take().expect("piped stdin");
    let out = collect(cli.stdout.take());
    let err = collect(cli.stderr.take());
    let stop = |n: usize| {
        wait_until(
            &format!("the trainer's stop {n}"),
            Duration::from_secs(30),
            || stops(&err) >= n,
        )
    };

    // 1. The bundle is written; nothing runs yet.
    stop(1);
    // The narration's line, not the trainer's title: it names the file.
    let config = PathBuf::from(format!("/{}", after(&err, "bundle written: /")));
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).expect("config.json")).expect("its JSON");
    assert_eq!(
        spec["process"]["args"],
        serde_json::json!(["sh", "-c", script])
    );
    let dir = config
        .ancestors()
        .nth(2)
        .expect("the container's directory");
    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(root.state(&id)["status"], "created");
    assert!(root.state(&id)["shim"].is_null() && !shim_running(&id));
    assert_eq!(runtime_status(&root, &id), None);
    assert!(!no_mounts_under(dir), "the overlay is mounted on the host");
    enter.write_all(b"\n").unwrap();

    // 2. Created: the init exists, in a PID namespace of its own, and waits.
    stop(2);
    let init: i32 = after(&err, "container init PID ")
        .trim_end_matches("(host)")
        .trim()
        .parse()
        .expect("the init's PID");
    assert!(Path::new(&format!("/proc/{init}")).exists());
    assert_eq!(runtime_status(&root, &id).as_deref(), Some("created"));
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_ne!(ns(&init.to_string()), ns("self"));
    assert!(shim_running(&id));
    assert_eq!(out.lock().unwrap().as_str(), "");
    enter.write_all(b"\n").unwrap();

    // 3. Running: started, its output on its way to us (we read it after Enter).
    stop(3);
    wait_until(
        "the runtime to say running",
        Duration::from_secs(10),
        || runtime_status(&root, &id).as_deref() == Some("running"),
    );
    assert!(root.ok(&["ps"]).contains("Up"));
    let cgroups = root.cgroup_dirs(&id);
    assert!(!cgroups.is_empty());
    root.ok(&["exec", &id, "touch", "/tmp/go"]);
    enter.write_all(b"\n").unwrap();
    drop(enter);

    // The end: the exit code, the output, and nothing left (--rm).
    let status = minibox_testkit::bounded::wait_within(
        &mut cli,
        Duration::from_secs(30),
        "minibox run --pause",
    );
    let log = err.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0), "{log}");
    wait_until("the output's end", Duration::from_secs(5), || {
        out.lock().unwrap().as_str() == "hi\n"
    });
    assert_eq!(stops(&err), 3, "{log}");
    root.assert_clean();
    assert!(!dir.exists());
    assert_eq!(runtime_status(&root, &id), None);
    for dir in cgroups {
        assert!(!Path::new(&dir).exists(), "{dir} left behind");
    }
}

/// A runtime that logs each call's arguments, then is runc.
fn logging_runc(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("calls.log");
    let wrapper = dir.join("runc-logged");
    let runc = minibox_testkit::which("runc").expect("runc");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            runc.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).unwrap();
    (wrapper, log)
}

/// The subcommands logged so far (the word after `--log-format json`); empties the log.
fn calls(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    text.lines()
        .map(|line| {
            let mut words = line.split_whitespace().skip_while(|w| *w != "json");
            words.nth(1).unwrap_or(line).to_string()
        })
        .collect()
}

#[test]
fn a_runtime_binary_gets_create_start_delete_and_nothing_after() {
    if !require_root("a_runtime_binary_gets_create_start_delete_and_nothing_after")
        || !require_tool(
            "a_runtime_binary_gets_create_start_delete_and_nothing_after",
            "runc",
        )
    {
        return;
    }
    let root = Root::new();
    let tools = tempfile::tempdir().unwrap();
    let (wrapper, log) = logging_runc(tools.path());
    let wrapper = wrapper.display().to_string();
    let out = root.run(&[
        "run",
        "--rm",
        "--runtime",
        &wrapper,
        "busybox",
        "echo",
        "hi",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "hi\n"),
        "{}",
        stderr(&out)
    );
    root.assert_clean();
    assert_eq!(calls(&log), ["create", "start", "delete"]);
    // Without --rm, then `rm`: the shim's delete was the last call too.
    root.ok(&[
        "run",
        "--name",
        "once",
        "--runtime",
        &wrapper,
        "busybox",
        "true",
    ]);
    root.ok(&["rm", "once"]);
    assert_eq!(calls(&log), ["create", "start", "delete"]);
    root.assert_clean();
}
