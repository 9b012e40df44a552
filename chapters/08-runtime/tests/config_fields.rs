//! Each config.json field, and its effect: seen from inside the container
//! (what the program prints) and, where the host can see it, from the host.
//! Then bad configs: a clear error, and nothing left behind.

// Test helpers: a failed fixture step is a failed test.
#![allow(clippy::expect_used)]

mod common;

use common::*;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, unique_name};
use serde_json::{json, Value};
use std::path::Path;

/// Runs `script` in a bundle changed by `change`; (exit code, stdout, stderr).
fn run_script(script: &str, change: impl FnOnce(&mut Value, &Path)) -> (i32, String, String) {
    let root = Root::new();
    let mut bundle = Bundle::new(&["sh", "-c", script]);
    let dir = bundle.path().to_path_buf();
    change(&mut bundle.config, &dir);
    run_bundle(&root, &bundle, &unique_name("field"))
}

#[test]
fn process_fields_hostname_env_cwd_user_umask_rlimits() {
    if !require_root("process_fields_hostname_env_cwd_user_umask_rlimits") {
        return;
    }
    let host_name = nix::unistd::gethostname().expect("hostname");
    let (code, out, err) = run_script(
        "hostname; echo $GREETING; pwd; id -u; id -g; id -G; umask; ulimit -n; ulimit -Hn",
        |c, _| {
            c["hostname"] = "inside".into();
            c["process"]["env"] = json!(["PATH=/bin", "GREETING=hello world"]);
            c["process"]["cwd"] = "/tmp".into();
            c["process"]["user"] =
                json!({"uid": 1000, "gid": 1001, "additionalGids": [1002, 1003], "umask": 63});
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]);
            c["root"]["readonly"] = false.into();
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "inside\nhello world\n/tmp\n1000\n1001\n1001 1002 1003\n0077\n100\n200\n"
    );
    assert_eq!(
        nix::unistd::gethostname().expect("hostname"),
        host_name,
        "the host's name is unchanged"
    );
}

#[test]
fn capabilities_and_no_new_privileges() {
    if !require_root("capabilities_and_no_new_privileges") {
        return;
    }
    let (code, out, err) = run_script(
        "grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs)' /proc/self/status",
        |c, _| {
            let caps = json!(["CAP_CHOWN", "CAP_KILL"]);
            c["process"]["capabilities"] =
                json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": []});
            c["process"]["noNewPrivileges"] = true.into();
        },
    );
    assert_eq!(code, 0, "{err}");
    // CAP_CHOWN = bit 0, CAP_KILL = bit 5.
    assert_eq!(out, "CapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000000021\nNoNewPrivs:\t1\n");
    let (_, out, _) = run_script("grep NoNewPrivs /proc/self/status", |c, _| {
        c["process"]["noNewPrivileges"] = false.into();
    });
    assert_eq!(out, "NoNewPrivs:\t0\n");
}

#[test]
fn seccomp_profile_is_enforced() {
    if !require_root("seccomp_profile_is_enforced") {
        return;
    }
    // Everything allowed but mkdir/mkdirat, which fail with EPERM (errno 1).
    let (code, out, err) = run_script(
        "mkdir /tmp/x 2>&1; echo mkdir=$?; grep Seccomp: /proc/self/status",
        |c, _| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            });
            c["root"]["readonly"] = false.into();
        },
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Operation not permitted")
            && out.contains("mkdir=1")
            && out.contains("Seccomp:\t2"),
        "{out}"
    );
}

#[test]
fn root_readonly_and_writable() {
    if !require_root("root_readonly_and_writable") {
        return;
    }
    let (code, _, _) = run_script("touch /written", |_, _| {});
    assert_ne!(code, 0, "the template's root is read-only");
    let root = Root::new();
    let mut bundle = Bundle::new(&["sh", "-c", "echo data > /written"]);
    bundle.config["root"]["readonly"] = false.into();
    let (code, _, err) = run_bundle(&root, &bundle, &unique_name("rw"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(bundle.rootfs().join("written")).expect("on the host"),
        "data\n"
    );
}

#[test]
fn mounts_bind_ro_tmpfs_and_flags() {
    if !require_root("mounts_bind_ro_tmpfs_and_flags") {
        return;
    }
    let shared = tempfile::tempdir().expect("tempdir");
    std::fs::write(shared.path().join("file"), "from the host\n").expect("write");
    let source = shared.path().display().to_string();
    let (code, out, err) = run_script(
        "cat /data/file; touch /data/new 2>/dev/null && echo wrote || echo read-only; grep -E ' /(data|scratch|rw) ' /proc/self/mounts | cut -d' ' -f2-4; echo x > /rw/back",
        |c, _| {
            let mounts = c["mounts"].as_array_mut().expect("mounts");
            mounts.push(json!({"destination": "/data", "type": "bind", "source": source, "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]}));
            mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700"]}));
            mounts.push(json!({"destination": "/rw", "type": "none", "source": source, "options": ["bind"]}));
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "from the host");
    assert_eq!(lines[1], "read-only");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("/data ") && l.contains("ro,nosuid,nodev,noexec")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("/scratch tmpfs")
            && l.contains("size=1024k")
            && l.contains("mode=700")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("/rw ") && l.contains("rw")),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(shared.path().join("back")).expect("written through the bind"),
        "x\n"
    );
    assert!(!shared.path().join("new").exists());
}

#[test]
fn mount_targets_are_resolved_inside_the_rootfs_never_on_the_host() {
    if !require_root("mount_targets_are_resolved_inside_the_rootfs_never_on_the_host") {
        return;
    }
    // The image's /evil is an absolute symlink to a host directory: a
    // runtime that joins paths would mount (and mkdir) on the host.
    let host_target = tempfile::tempdir().expect("tempdir");
    let root = Root::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "ls -d /evil/sub && grep ' /evil/sub ' /proc/self/mounts | cut -d' ' -f2",
    ]);
    std::os::unix::fs::symlink(host_target.path(), bundle.rootfs().join("evil")).expect("symlink");
    bundle.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"}));
    let (code, out, err) = run_bundle(&root, &bundle, &unique_name("evil"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/evil/sub"), "{out}");
    assert!(
        !host_target.path().join("sub").exists(),
        "nothing was created on the host"
    );
    let inside = bundle
        .rootfs()
        .join(host_target.path().strip_prefix("/").expect("absolute"))
        .join("sub");
    assert!(
        inside.is_dir(),
        "the symlink was followed inside the rootfs: {}",
        inside.display()
    );
}

#[test]
fn namespaces_new_and_joined_by_path() {
    if !require_root("namespaces_new_and_joined_by_path") {
        return;
    }
    // A network namespace of our own making, held by a sleeping process.
    let mut holder = std::process::Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .spawn()
        .expect("unshare");
    let ns = format!("/proc/{}/ns/net", holder.id());
    let start = std::time::Instant::now();
    while std::fs::read_link(&ns).ok() == std::fs::read_link("/proc/self/ns/net").ok()
        && start.elapsed() < LIMIT
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let wanted = std::fs::read_link(&ns).expect("ns").display().to_string();
    let ns_path = ns.clone();
    let (code, out, err) = run_script(
        "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; echo $$",
        |c, _| {
            c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}, {"type": "network", "path": ns_path}]);
            // No uts namespace: a hostname would be an error.
            c["hostname"] = Value::Null;
        },
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], wanted, "joined the given network namespace");
    assert_ne!(
        lines[1],
        std::fs::read_link("/proc/self/ns/ipc")
            .expect("ipc")
            .display()
            .to_string(),
        "a new ipc namespace"
    );
    assert_eq!(lines[2], "1", "a new pid namespace: the program is PID 1");
}

#[test]
fn a_time_namespace_with_offsets() {
    if !require_root("a_time_namespace_with_offsets") {
        return;
    }
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split(' ')
        .next()
        .and_then(|u| u.parse().ok())
        .expect("a number");
    let (code, out, err) = run_script(
        "cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time",
        |c, _| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .expect("ns")
                .push(json!({"type": "time"}));
            c["linux"]["timeOffsets"] =
                json!({"boottime": {"secs": 1000000}, "monotonic": {"secs": 1000000}});
        },
    );
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let uptime: f64 = lines
        .next()
        .and_then(|u| u.parse().ok())
        .expect("uptime inside");
    assert!(
        uptime >= host_uptime + 1_000_000.0 && uptime < host_uptime + 1_000_100.0,
        "boot clock moved by the offset: {uptime} vs host {host_uptime}"
    );
    assert_ne!(
        lines.next().map(String::from),
        std::fs::read_link("/proc/self/ns/time")
            .ok()
            .map(|p| p.display().to_string()),
        "a time namespace of its own"
    );
}

#[test]
fn user_namespace_with_id_mappings() {
    if !require_root("user_namespace_with_id_mappings") {
        return;
    }
    let (code, out, err) = run_script(
        // The cgroup mount shows the container its own cgroup (PID 1 is in
        // it): on v2 a cgroup2 mount is refused in a user namespace without
        // a cgroup namespace, and the runtime binds the cgroup's directory.
        "id -u; cat /proc/self/uid_map | tr -s ' '; cat /proc/self/gid_map | tr -s ' '; \
         grep -qx 1 /sys/fs/cgroup/cgroup.procs 2>/dev/null || grep -qx 1 /sys/fs/cgroup/memory/cgroup.procs && echo own cgroup",
        |c, _| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .expect("ns")
                .push(json!({"type": "user"}));
            c["linux"]["uidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["gidMappings"] =
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "0\n 0 100000 65536\n 0 100000 65536\nown cgroup\n");
}

#[test]
fn resources_reach_the_cgroup_seen_from_host_and_inside() {
    if !require_root("resources_reach_the_cgroup_seen_from_host_and_inside") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 20}, "cpu": {"quota": 50000, "period": 100000, "shares": 512}});
    let parent = unique_name("ch08-parent");
    let id = unique_name("res");
    bundle.config["linux"]["cgroupsPath"] = format!("/{parent}/{id}").into();
    let logs = tempfile::tempdir().expect("tempdir");
    assert!(
        root.create(&bundle, &id, logs.path()).status.success(),
        "{}",
        std::fs::read_to_string(logs.path().join(format!("{id}.err"))).unwrap_or_default()
    );
    assert!(root.run(&["start", &id]).status.success());
    let dirs = cgroup_dirs_named(&id);
    assert!(
        dirs.iter()
            .all(|d| d.parent().and_then(|p| p.file_name()) == Some(parent.as_ref())),
        "cgroupsPath names the place: {dirs:?}"
    );
    let read = |file: &str| -> Option<String> {
        dirs.iter()
            .find_map(|d| std::fs::read_to_string(d.join(file)).ok())
            .map(|s| s.trim().to_string())
    };
    let v2 = read("memory.max").is_some();
    if v2 {
        assert_eq!(read("memory.max").as_deref(), Some("67108864"));
        assert_eq!(read("pids.max").as_deref(), Some("20"));
        assert_eq!(read("cpu.max").as_deref(), Some("50000 100000"));
    } else {
        assert_eq!(read("memory.limit_in_bytes").as_deref(), Some("67108864"));
        assert_eq!(read("pids.max").as_deref(), Some("20"));
        assert_eq!(read("cpu.cfs_quota_us").as_deref(), Some("50000"));
        // Inside: the cgroup mount shows the container's own limits.
        let out = root.run(&["exec", &id, "cat", "/sys/fs/cgroup/pids/pids.max"]);
        assert_eq!(stdout(&out), "20\n", "{}", stderr(&out));
    }
    assert!(root.run(&["delete", "--force", &id]).status.success());
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "the container's cgroup is removed"
    );
    for dir in cgroup_dirs_named(&parent) {
        let _ = std::fs::remove_dir(dir);
    }
}

#[test]
fn sysctl_masked_and_readonly_paths_and_devices() {
    if !require_root("sysctl_masked_and_readonly_paths_and_devices") {
        return;
    }
    let host_forward =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("ip_forward");
    let root = Root::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_forward; wc -c < /secret; ls /secrets | wc -l; echo x > /proc/sys/kernel/domainname 2>/dev/null && echo wrote || echo ro; ls -l /dev/extra-null | cut -c1-10",
    ]);
    std::fs::write(bundle.rootfs().join("secret"), "the image's secret\n").expect("write");
    std::fs::create_dir(bundle.rootfs().join("secrets")).expect("mkdir");
    std::fs::write(bundle.rootfs().join("secrets/key"), "k").expect("write");
    bundle.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    bundle.config["linux"]["maskedPaths"] = json!(["/secret", "/secrets", "/no/such/path"]);
    bundle.config["linux"]["devices"] = json!([{"path": "/dev/extra-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}]);
    let (code, out, err) = run_bundle(&root, &bundle, &unique_name("mask"));
    assert_eq!(code, 0, "{err}");
    // ip_forward set in the container's own net namespace; masks read empty;
    // /proc/sys read-only (readonlyPaths of the template); the extra device.
    assert_eq!(out, "1\n0\n0\nro\ncrw-------\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("ip_forward"),
        host_forward,
        "the host's sysctl is untouched"
    );
    assert_eq!(
        std::fs::read_to_string(bundle.rootfs().join("secret")).expect("read"),
        "the image's secret\n",
        "masking hides, never changes"
    );
}

#[test]
fn the_device_cgroup_lets_a_node_be_made_but_not_opened() {
    if !require_root("the_device_cgroup_lets_a_node_be_made_but_not_opened") {
        return;
    }
    // podman's rules: deny everything; the runtime adds the default devices.
    let (code, out, err) = run_script(
        "mknod /tmp/disk b 7 0 && echo made; head -c1 /tmp/disk 2>&1 | grep -o 'Operation not permitted'; head -c0 /dev/null && echo null-ok",
        |c, _| {
            let caps = json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
            c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
            c["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["dev"]}));
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "made\nOperation not permitted\nnull-ok\n", "{err}");
}

#[test]
fn hooks_run_in_order_with_the_state_on_stdin() {
    if !require_root("hooks_run_in_order_with_the_state_on_stdin") {
        return;
    }
    let trace = tempfile::tempdir().expect("tempdir");
    let file = trace.path().join("trace");
    let hook = |stage: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read -r state; echo \"{stage} $state\" >> {}", file.display())]});
    let root = Root::new();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")]
    });
    bundle.config["annotations"] = json!({"org.example/who": "test"});
    let id = unique_name("hooks");
    let (code, _, err) = run_bundle(&root, &bundle, &id);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&file).expect("trace");
    let stages: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        stages,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    for line in text.lines() {
        let state: Value =
            serde_json::from_str(line.split_once(' ').expect("state").1).expect("state is JSON");
        assert_eq!(state["id"], id.as_str());
        assert_eq!(state["annotations"]["org.example/who"], "test");
    }
    assert!(
        text.lines()
            .nth(3)
            .is_some_and(|l| l.contains("\"status\":\"running\"")),
        "{text}"
    );
}

#[test]
fn a_hook_past_its_timeout_fails_create_and_leaves_nothing() {
    if !require_root("a_hook_past_its_timeout_fails_create_and_leaves_nothing") {
        return;
    }
    let root = Root::new();
    let mut bundle = Bundle::new(&["true"]);
    bundle.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let id = unique_name("slow");
    let logs = tempfile::tempdir().expect("tempdir");
    let out = root.create(&bundle, &id, logs.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("timeout of 1 s"), "{}", stderr(&out));
    assert_nothing_left(&root, &id);
}

#[test]
fn labels_are_warned_about_and_the_container_runs() {
    if !require_root("labels_are_warned_about_and_the_container_runs") {
        return;
    }
    let (code, out, err) = run_script("echo ran", |c, _| {
        c["process"]["apparmorProfile"] = "minibox-default".into();
        c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0".into();
    });
    assert_eq!((code, out.as_str()), (0, "ran\n"));
    assert!(
        err.contains("apparmorProfile") && err.contains("selinuxLabel"),
        "{err}"
    );
}

fn assert_nothing_left(root: &Root, id: &str) {
    assert!(
        !root.dir.path().join(id).exists(),
        "no state directory of {id}"
    );
    assert!(
        cgroup_dirs_named(id).is_empty(),
        "no cgroup of {id}: {:?}",
        cgroup_dirs_named(id)
    );
}

/// create with a broken config: the error names the field, nothing is left.
fn refused(change: impl FnOnce(&mut Value, &Path), expect_in_error: &str) {
    let root = Root::new();
    let mut bundle = Bundle::new(&["true"]);
    let dir = bundle.path().to_path_buf();
    change(&mut bundle.config, &dir);
    let id = unique_name("bad");
    let logs = tempfile::tempdir().expect("tempdir");
    // Where a leak can show: a mount namespace with an rshared "/".
    let shared = SharedRoot::new();
    let out = root.create_in(&shared, &bundle, &id, logs.path());
    assert!(
        !out.status.success(),
        "create should fail ({expect_in_error})"
    );
    let err = stderr(&out);
    assert!(
        err.contains(expect_in_error),
        "error should mention {expect_in_error:?}: {err}"
    );
    assert_eq!(
        err.matches("error:").count(),
        1,
        "one error, said once: {err}"
    );
    assert_nothing_left(&root, &id);
    // The rootfs is a symlink out of the bundle: its own mounts are listed under its real path.
    let mounts = [bundle.path(), &bundle.rootfs()].map(|dir| shared.mounts_under(dir));
    let mounts = mounts.concat();
    assert!(
        mounts.is_empty(),
        "no mount of the bundle on the host: {mounts:?}"
    );
}

#[test]
fn bad_configs_are_clear_errors_that_leave_nothing() {
    if !require_root("bad_configs_are_clear_errors_that_leave_nothing") {
        return;
    }
    refused(
        |c, _| c["root"]["path"] = "no-such-rootfs".into(),
        "root.path",
    );
    refused(
        |c, _| {
            c["mounts"]
                .as_array_mut()
                .expect("mounts")
                .push(json!({"destination": "/x", "type": "nfs4", "source": "srv:/x"}));
        },
        "mount type \"nfs4\"",
    );
    // A mount that fails only inside the container, after the cgroup and the clone exist.
    refused(
        |c, _| {
            c["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/x", "type": "bind", "source": "/no/such/source", "options": ["bind"]}));
        },
        "bind-mounting /no/such/source",
    );
    refused(
        |c, _| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .expect("ns")
                .push(json!({"type": "foo"}))
        },
        "unknown variant `foo`",
    );
    refused(
        |c, _| c["process"]["capabilities"]["bounding"] = json!(["CAP_FOO"]),
        "CAP_FOO",
    );
    refused(
        |c, _| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
        "SCMP_ACT_NOTIFY",
    );
    refused(
        |c, _| c["linux"]["sysctl"] = json!({"kernel.pid_max": "1000"}),
        "kernel.pid_max",
    );
    refused(
        |c, _| c["linux"]["cgroupsPath"] = "machine.slice:minibox:x".into(),
        "cgroupfs",
    );
    refused(
        |c, _| c["process"]["args"] = json!(["no-such-program"]),
        "not found",
    );
    // A hard limit above ours needs CAP_SYS_RESOURCE: a host without it (a
    // container, a VM whose bounding set lacks it) gets a clear error. Root
    // with it (a workshop laptop, the cgroup v2 lane) may raise it.
    let has_resource = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    if let (false, Some(above)) = (has_resource, hard.checked_add(1)) {
        refused(
            |c, _| {
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": above, "hard": above}])
            },
            "CAP_SYS_RESOURCE",
        );
    }
}
