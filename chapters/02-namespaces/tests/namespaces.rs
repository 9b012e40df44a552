//! Each namespace, from inside (what the command sees) and from the host.

mod common;

use common::{run_in, stdout_in, stdout_of, Running};
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, Rootfs};

fn host_hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn uts_namespace_has_its_own_hostname() {
    if !require_root("uts_namespace_has_its_own_hostname") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let before = host_hostname();
    let inside = stdout_of(
        rootfs.path(),
        &["--uts", "--hostname", "jailed"],
        "hostname; hostname renamed-inside; hostname",
    );
    assert_eq!(inside, "jailed\nrenamed-inside\n");
    assert_eq!(
        host_hostname(),
        before,
        "the host's hostname must not change"
    );
}

#[test]
fn uts_namespace_seen_from_the_host() {
    if !require_root("uts_namespace_seen_from_the_host") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let running = Running::start(&rootfs, &["--uts"], &["sleep", "30"], "sleep");
    let me = std::process::id() as i32;
    assert_ne!(Running::ns(running.command, "uts"), Running::ns(me, "uts"));
    // Not asked for: shared with the host.
    assert_eq!(Running::ns(running.command, "net"), Running::ns(me, "net"));
    running.stop();
}

#[test]
fn pid_namespace_init_is_pid_1_and_proc_shows_only_the_container() {
    if !require_root("pid_namespace_init_is_pid_1_and_proc_shows_only_the_container") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(
        rootfs.path(),
        &["--pid"],
        "cat /proc/1/comm; echo $$; ls /proc | grep -c '^[0-9]'",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "minibox-init", "PID 1 is our init: {out}");
    assert_eq!(lines[1], "2", "the command is init's first child: {out}");
    let count: u32 = lines[2].parse().unwrap_or(999);
    // init, sh, and the pipeline's ls and grep: nothing from the host.
    assert!(count <= 4, "/proc lists {count} PIDs: {out}");
}

#[test]
fn pid_namespace_seen_from_the_host() {
    if !require_root("pid_namespace_seen_from_the_host") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let running = Running::start(&rootfs, &["--pid"], &["sleep", "30"], "sleep");
    // NSpid: the host PID, then the PID inside the container's namespace.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", running.init)).unwrap_or_default();
    let nspid = status
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        nspid.split_whitespace().collect::<Vec<_>>(),
        vec!["NSpid:", &running.init.to_string(), "1"],
        "{nspid}"
    );
    running.stop();
}

#[test]
fn mount_namespace_has_its_own_table_and_nothing_leaks() {
    if !require_root("mount_namespace_has_its_own_table_and_nothing_leaks") {
        return;
    }
    let rootfs = Rootfs::busybox();
    // Run where a leak can show: a mount namespace with an rshared "/".
    let ns = SharedRoot::new();
    let before = ns.mounts_under(rootfs.path());
    let inside = stdout_in(
        &ns,
        rootfs.path(),
        &["--mount"],
        "mkdir -p /mnt && mount -t tmpfs inside /mnt && echo x > /mnt/f && cat /proc/self/mountinfo",
    );
    assert!(inside.contains(" /mnt "), "tmpfs mounted inside: {inside}");
    assert!(
        inside.lines().count() < 15,
        "a short table of our own: {inside}"
    );
    assert_eq!(
        ns.mounts_under(rootfs.path()),
        before,
        "no mount under the rootfs may leak to the host"
    );
    assert!(
        !rootfs.path().join("mnt/f").exists(),
        "the tmpfs stayed inside"
    );
}

#[test]
fn net_namespace_has_only_lo_and_it_is_up() {
    if !require_root("net_namespace_has_only_lo_and_it_is_up") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(
        rootfs.path(),
        &["--net"],
        "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "lo", "only lo: {out}");
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap_or(0);
    assert_eq!(
        flags & libc::IFF_UP as u32,
        libc::IFF_UP as u32,
        "lo is up: {out}"
    );
    assert_eq!(lines[2], "ping-ok", "loopback works: {out}");

    let running = Running::start(&rootfs, &["--net"], &["sleep", "30"], "sleep");
    let me = std::process::id() as i32;
    assert_ne!(Running::ns(running.command, "net"), Running::ns(me, "net"));
    running.stop();
}

/// A System V shared memory segment made on the host, removed on drop.
struct HostShm(i32);

impl HostShm {
    fn create() -> HostShm {
        // Safety: plain syscall; IPC_PRIVATE always makes a new segment.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(id >= 0, "shmget: {}", std::io::Error::last_os_error());
        HostShm(id)
    }
}

impl Drop for HostShm {
    fn drop(&mut self) {
        // Safety: removes only the segment we created.
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[test]
fn ipc_namespace_hides_the_hosts_sysv_objects() {
    if !require_root("ipc_namespace_hides_the_hosts_sysv_objects") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let shm = HostShm::create();
    let script = format!(
        "awk '$2 == {} {{ print \"seen\" }}' /proc/sysvipc/shm",
        shm.0
    );
    let shared = stdout_of(rootfs.path(), &["--pid"], &script);
    assert_eq!(
        shared, "seen\n",
        "without --ipc the host's segment is visible"
    );
    let isolated = stdout_of(rootfs.path(), &["--ipc"], &script);
    assert_eq!(isolated, "", "with --ipc it is not");
    let mqueue = stdout_of(
        rootfs.path(),
        &["--ipc"],
        "grep -c ' /dev/mqueue ' /proc/self/mountinfo",
    );
    assert_eq!(mqueue, "1\n", "its own mqueue filesystem");
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_uid() {
    if !require_root("user_namespace_maps_root_to_an_unprivileged_host_uid") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(
        rootfs.path(),
        &["--user", "--pid"],
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups",
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        // Root maps with CAP_SETGID: no "deny", so setgroups(2) works inside.
        ["0", "0", "0", "100000", "65536", "0", "100000", "65536", "allow"],
        "{out}"
    );

    let running = Running::start(&rootfs, &["--user"], &["sleep", "30"], "sleep");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", running.command)).unwrap_or_default();
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_default();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("100000"),
        "from the host, container root is uid 100000: {uid_line}"
    );
    running.stop();
}

#[test]
fn cgroup_namespace_shows_root() {
    if !require_root("cgroup_namespace_shows_root") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(rootfs.path(), &["--cgroup"], "cat /proc/self/cgroup");
    assert!(!out.is_empty());
    for line in out.lines() {
        assert!(line.ends_with(":/"), "every hierarchy shows /: {out}");
    }
    let running = Running::start(&rootfs, &["--cgroup"], &["sleep", "30"], "sleep");
    let me = std::process::id() as i32;
    assert_ne!(
        Running::ns(running.command, "cgroup"),
        Running::ns(me, "cgroup")
    );
    running.stop();
}

#[test]
fn time_namespace_makes_the_clocks_start_at_zero() {
    if !require_root("time_namespace_makes_the_clocks_start_at_zero") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let out = stdout_of(rootfs.path(), &["--time"], "cut -d' ' -f1 /proc/uptime");
    let inside: f64 = out.trim().parse().unwrap_or(f64::MAX);
    assert!(inside < 5.0, "uptime inside starts at 0, got {out}");

    let running = Running::start(&rootfs, &["--time"], &["sleep", "30"], "sleep");
    let me = std::process::id() as i32;
    // Init only made the namespace for its children: the command is inside, init is not.
    assert_ne!(
        Running::ns(running.command, "time"),
        Running::ns(me, "time")
    );
    assert_eq!(Running::ns(running.init, "time"), Running::ns(me, "time"));
    assert_eq!(
        Running::ns(running.init, "time_for_children"),
        Running::ns(running.command, "time")
    );
    running.stop();
}

#[test]
fn all_namespaces_differ_from_the_host() {
    if !require_root("all_namespaces_differ_from_the_host") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let running = Running::start(&rootfs, &["--all"], &["sleep", "30"], "sleep");
    let me = std::process::id() as i32;
    for ns in ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"] {
        assert_ne!(
            Running::ns(running.command, ns),
            Running::ns(me, ns),
            "{ns}"
        );
    }
    running.stop();
    // And it actually runs.
    let out = run_in(rootfs.path(), &["--all"], "hostname");
    assert!(out.status.success(), "{:?}", minibox_testkit::text(&out));
}
