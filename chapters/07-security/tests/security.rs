//! Chapter 07 on the real kernel, through the demo binary: every probe
//! both ways (open without the protection, blocked with it, by the expected
//! layer and errno), the layers one at a time, setuid under no_new_privs,
//! users from the rootfs, and bad input refused with nothing left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use minibox_testkit::bounded::output_within;
use minibox_testkit::{require_root, require_tool, unique_name, Rootfs};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ch07-security");

fn run(rootfs: &Path, flags: &[&str], cmd: &[&str]) -> Output {
    run_with(rootfs, flags, cmd, "")
}

/// `sealed`: how the binary seals itself (MINIBOX_SEALED_EXE; "" = its choice).
fn run_with(rootfs: &Path, flags: &[&str], cmd: &[&str], sealed: &str) -> Output {
    let mut c = Command::new(BIN);
    c.env("MINIBOX_SEALED_EXE", sealed);
    c.arg("--rootfs")
        .arg(rootfs)
        .args(flags)
        .arg("--")
        .args(cmd);
    output_within(&mut c, Duration::from_secs(120))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// PROBE → (RESULT, WHY) from the table on stdout.
fn probe(rootfs: &Path, flags: &[&str]) -> HashMap<String, (String, String)> {
    probe_sealed(rootfs, flags, "")
}

fn probe_sealed(rootfs: &Path, flags: &[&str], sealed: &str) -> HashMap<String, (String, String)> {
    let mut all = vec!["--probe", "-q"];
    all.extend_from_slice(flags);
    let out = run_with(rootfs, &all, &["/bin/true"], sealed);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{flags:?}: {stderr}");
    stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (id, rest) = l.split_once(' ')?;
            let rest = rest.trim_start();
            let (result, rest) = rest.split_once(' ')?;
            // The attempt column is 40 wide; WHY follows it.
            let why = rest.trim_start().get(40..).unwrap_or("").trim().to_string();
            Some((id.to_string(), (result.to_string(), why)))
        })
        .collect()
}

fn expect(table: &HashMap<String, (String, String)>, id: &str, result: &str, why: &str, run: &str) {
    let (got, because) = table
        .get(id)
        .unwrap_or_else(|| panic!("{run}: no probe {id}: {table:?}"));
    if got == "n/a" {
        eprintln!("{run}: {id} cannot be tried on this kernel: {because}");
        return;
    }
    assert_eq!(got, result, "{run}: {id}: {because}");
    assert!(
        because.contains(why),
        "{run}: {id} should say {why:?}, says {because:?}"
    );
}

#[test]
fn every_probe_is_open_without_protection_and_blocked_with_the_defaults() {
    if !require_root("every_probe_is_open_without_protection_and_blocked_with_the_defaults") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let open = probe(rootfs.path(), &["--privileged", "--no-sealed-exe"]);
    for id in [
        "mount",
        "blockdev",
        "sysrq",
        "sysctl",
        "reboot",
        "clock",
        "rawsock",
        "ptrace",
        "keyctl",
        "userns",
        "init-exe",
        "self-exe",
        "kcore",
        "timer_list",
    ] {
        expect(&open, id, "OPEN", "", "privileged");
    }
    // The module loader is reached (EBADF for our bogus fd), or the kernel has none.
    let module = &open["module"].0;
    assert!(module == "OPEN" || module == "n/a", "{open:?}");
    assert!(
        open["init-exe"].1.contains(BIN),
        "/proc/1/exe is our binary on disk: {:?}",
        open["init-exe"]
    );

    let closed = probe(rootfs.path(), &[]);
    for (id, why) in [
        ("mount", "seccomp: mount not allowed (EPERM)"),
        ("blockdev", "device rule"),
        ("sysrq", "read-only path (EROFS)"),
        ("sysctl", "read-only path (EROFS)"),
        ("module", "seccomp: finit_module not allowed (EPERM)"),
        ("reboot", "seccomp: reboot not allowed (EPERM)"),
        ("clock", "seccomp: settimeofday not allowed (EPERM)"),
        ("ptrace", "capability: CAP_SYS_PTRACE not held (EPERM)"),
        ("keyctl", "seccomp: keyctl not allowed (EPERM)"),
        ("userns", "seccomp: unshare not allowed (EPERM)"),
        ("init-exe", "(EACCES)"),
        // Root here can mount an overlay: the view that copies nothing.
        (
            "self-exe",
            "read-only overlay of our binary: never writable (EROFS)",
        ),
        ("kcore", "masked path"),
        ("timer_list", "masked path: reads as empty"),
    ] {
        expect(&closed, id, "blocked", why, "defaults");
    }
    assert_eq!(
        closed["blockdev"].1.split(" not allowed").last(),
        Some(" (EPERM)")
    );
    // docker keeps CAP_NET_RAW (ping): open with the defaults, closed by dropping it.
    expect(&closed, "rawsock", "OPEN", "", "defaults");
    let no_raw = probe(rootfs.path(), &["--cap-drop", "NET_RAW"]);
    expect(
        &no_raw,
        "rawsock",
        "blocked",
        "capability: CAP_NET_RAW not held (EPERM)",
        "--cap-drop NET_RAW",
    );
}

#[test]
fn each_layer_stops_what_it_is_for() {
    if !require_root("each_layer_stops_what_it_is_for") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Without seccomp, the capabilities still stop what needs one…
    let caps_only = probe(rootfs.path(), &["--seccomp", "unconfined"]);
    expect(
        &caps_only,
        "mount",
        "blocked",
        "capability: CAP_SYS_ADMIN not held (EPERM)",
        "unconfined",
    );
    expect(
        &caps_only,
        "reboot",
        "blocked",
        "capability: CAP_SYS_BOOT not held (EPERM)",
        "unconfined",
    );
    expect(
        &caps_only,
        "clock",
        "blocked",
        "capability: CAP_SYS_TIME not held (EPERM)",
        "unconfined",
    );
    // …but keyrings and user namespaces need no capability: only seccomp closes them.
    expect(&caps_only, "keyctl", "OPEN", "", "unconfined");
    expect(&caps_only, "userns", "OPEN", "", "unconfined");
    // Every capability, no seccomp: masks, read-only paths, device rules and
    // the sealed binary still hold.
    let paths_only = probe(
        rootfs.path(),
        &["--seccomp", "unconfined", "--cap-add", "ALL"],
    );
    expect(&paths_only, "mount", "OPEN", "", "ALL");
    expect(
        &paths_only,
        "sysctl",
        "blocked",
        "read-only path (EROFS)",
        "ALL",
    );
    expect(&paths_only, "timer_list", "blocked", "masked path", "ALL");
    expect(&paths_only, "blockdev", "blocked", "device rule", "ALL");
    for id in ["self-exe", "init-exe"] {
        expect(
            &paths_only,
            id,
            "blocked",
            "read-only overlay of our binary: never writable (EROFS)",
            "ALL",
        );
    }
    // The sealed copy, where no overlay can be mounted, holds as well.
    let copied = probe_sealed(
        rootfs.path(),
        &["--seccomp", "unconfined", "--cap-add", "ALL"],
        "copy",
    );
    for id in ["self-exe", "init-exe"] {
        expect(&copied, id, "blocked", "sealed memfd copy", "copy");
    }
}

#[test]
fn a_setuid_binary_gains_nothing_under_no_new_privileges() {
    if !require_root("a_setuid_binary_gains_nothing_under_no_new_privileges")
        || !require_tool(
            "a_setuid_binary_gains_nothing_under_no_new_privileges",
            "busybox",
        )
    {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let rootfs = Rootfs::busybox();
    let suid = rootfs.path().join("bin/busybox-suid");
    std::fs::copy(rootfs.path().join("bin/busybox"), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    // busybox drops a setuid root it does not need before most applets run
    // (so `id -u` says 1000 either way); `su` keeps it — it asks for the
    // password only with effective UID 0, and says so when it did not get it.
    let script = "/bin/busybox-suid su -c true root </dev/null";
    let out = run(
        rootfs.path(),
        &["-q", "--user", "1000"],
        &["/bin/sh", "-c", script],
    );
    let both = |out: &Output| {
        let (stdout, stderr) = text(out);
        format!("{stdout}{stderr}")
    };
    let with_suid = both(&out);
    assert!(
        with_suid.contains("Password:") && with_suid.contains("incorrect password"),
        "without no_new_privs the setuid bit makes su run as root: {with_suid}"
    );
    let out = run(
        rootfs.path(),
        &["-q", "--user", "1000", "--no-new-privileges"],
        &["/bin/sh", "-c", script],
    );
    let without = both(&out);
    assert!(
        without.contains("must be suid to work properly") && !without.contains("Password:"),
        "under no_new_privs the setuid bit is ignored: {without}"
    );
}

#[test]
fn users_and_groups_come_from_the_rootfs() {
    if !require_root("users_and_groups_come_from_the_rootfs") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let etc = rootfs.path().join("etc");
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("group"),
        "root:x:0:\nalice:x:1000:\nwheel:x:10:alice\naudio:x:29:bob,alice\nstaff:x:50:\n",
    )
    .unwrap();
    let out = run(
        rootfs.path(),
        &["-q", "--user", "alice", "--group-add", "staff"],
        &[
            "/bin/sh",
            "-c",
            "id -u; id -g; id -G; echo $HOME; grep ^CapEff /proc/self/status",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        &lines[..4],
        ["1000", "1000", "1000 10 29 50", "/home/alice"],
        "{stdout}"
    );
    assert!(
        lines[4].ends_with("0000000000000000"),
        "a non-root user has no effective capabilities after execve: {stdout}"
    );
    let out = run(
        rootfs.path(),
        &["-q", "--user", "4242:wheel"],
        &["/bin/sh", "-c", "id -u; id -g; echo $HOME"],
    );
    assert_eq!(
        text(&out).0.lines().collect::<Vec<_>>(),
        ["4242", "10", "/"]
    );
}

/// No cgroup directory named `name` under any hierarchy.
fn no_cgroup_named(name: &str) {
    let found = Command::new("find")
        .args(["/sys/fs/cgroup", "-name", name])
        .output()
        .unwrap();
    assert!(
        found.stdout.is_empty(),
        "left behind: {}",
        String::from_utf8_lossy(&found.stdout)
    );
}

#[test]
fn bad_input_is_refused_clearly_and_leaves_nothing() {
    if !require_root("bad_input_is_refused_clearly_and_leaves_nothing") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let bad_json = rootfs.path().join("../bad-seccomp.json");
    std::fs::write(&bad_json, "{\"defaultAction\": \"SCMP_ACT_NOPE\"}").unwrap();
    let unknown_syscall = rootfs.path().join("../typo-seccomp.json");
    std::fs::write(&unknown_syscall, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mountt"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    // A filter that forbids what the runtime itself must do after loading it.
    let blocks_capset = rootfs.path().join("../no-capset.json");
    std::fs::write(&blocks_capset, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["capset"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--seccomp".into(), bad_json.display().to_string()],
            "is not valid OCI linux.seccomp JSON",
        ),
        (
            vec!["--seccomp".into(), unknown_syscall.display().to_string()],
            "unknown system call \"mountt\"",
        ),
        (
            vec!["--cap-add".into(), "NET_ADMN".into()],
            "unknown capability \"NET_ADMN\"",
        ),
        (
            vec!["--user".into(), "mallory".into()],
            "user \"mallory\" is not in /etc/passwd",
        ),
        (
            vec!["--group-add".into(), "nogroup2".into()],
            "group \"nogroup2\" is not in /etc/group",
        ),
        (
            vec!["--ulimit".into(), "files=1".into()],
            "unknown rlimit \"files\"",
        ),
        (
            vec!["--seccomp".into(), blocks_capset.display().to_string()],
            "capset(inheritable) failed: EPERM",
        ),
    ];
    for (flags, message) in cases {
        let name = unique_name("ch07-bad");
        let mut all: Vec<&str> = vec!["--name", &name];
        all.extend(flags.iter().map(String::as_str));
        let out = run(rootfs.path(), &all, &["/bin/true"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{flags:?} should say {message:?}: {stderr}"
        );
        assert_eq!(stderr.matches(message).count(), 1, "said once: {stderr}");
        no_cgroup_named(&name);
    }
    // A hard limit above ours needs CAP_SYS_RESOURCE: on a host without it, a clear error.
    let has_resource = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    if !has_resource {
        let (_, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        let ask = format!("nofile={0}:{0}", hard + 1);
        let out = run(rootfs.path(), &["--ulimit", &ask], &["/bin/true"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(125), "{stderr}");
        assert!(stderr.contains("needs CAP_SYS_RESOURCE"), "{stderr}");
    }
    // Lowering is fine.
    let out = run(
        rootfs.path(),
        &["-q", "--ulimit", "nofile=64:128"],
        &["/bin/sh", "-c", "ulimit -n; ulimit -Hn"],
    );
    assert_eq!(text(&out).0.lines().collect::<Vec<_>>(), ["64", "128"]);
}
