//! `minibox run --network bridge` (the default), `-p`, `--dns`,
//! `--add-host`, `inspect`'s NetworkSettings and `port`, end to end, as root.
//!
//! Every test makes a "host" network namespace of its own and runs minibox
//! inside it (`nsenter --net=…`, which keeps this process's /sys and
//! cgroups), so nothing touches this machine's interfaces, routes or
//! firewall, and no packet leaves the namespaces the test made. Each test
//! ends by checking that nothing of ours remains: no device, rule, lease,
//! mount or container.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{ok, stdout as text, wait_until, Root};
use minibox_testkit::bounded::output_within;
use minibox_testkit::{cgroup_dirs_named, require_root, require_tool, unique_name};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const PAGE: &str = "hello from the container\n";

/// A "host" network namespace of the test's, and an engine that runs in it.
struct Lab {
    // Dropped in this order: the containers (in the namespace), then the namespace.
    root: Root,
    netns: Netns,
}

/// `ip netns add NAME`; deleted on drop, with chapter 09's state for it.
struct Netns(String);

impl Netns {
    fn add() -> Netns {
        let name = unique_name("mbxn");
        ok(
            output_within(
                Command::new("ip").args(["netns", "add", &name]),
                Duration::from_secs(10),
            ),
            "ip netns add",
        );
        Netns(name)
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }

    /// chapter 09's state directory for this namespace (keyed by its cookie).
    fn state_dir(&self) -> PathBuf {
        let path = self.path();
        let cookie = std::thread::spawn(move || {
            let ns = std::fs::File::open(path).unwrap();
            // Safety: setns on this short-lived thread only.
            assert_eq!(
                unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            ch09_network::netns::current_cookie().unwrap()
        })
        .join()
        .unwrap();
        PathBuf::from(ch09_network::state::STATE_ROOT).join(cookie.to_string())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // After a failed assertion: the namespace takes its devices and
        // rules with it; its state directory is ours to remove.
        let _ = std::fs::remove_dir_all(self.state_dir());
        let _ = output_within(
            Command::new("ip").args(["netns", "del", &self.0]),
            Duration::from_secs(10),
        );
    }
}

impl Lab {
    fn new() -> Lab {
        let netns = Netns::add();
        let root = Root::with_image(Some(&netns.path()), "web:1", |rootfs| {
            std::fs::create_dir_all(rootfs.join("www")).unwrap();
            std::fs::write(rootfs.join("www/index.html"), PAGE).unwrap();
        });
        let lab = Lab { root, netns };
        // A real host's lo is up; a new namespace's is not.
        ok(lab.host(&["ip", "link", "set", "lo", "up"]), "lo up");
        lab
    }

    fn netns_path(&self) -> String {
        self.netns.path()
    }

    /// A command in the lab's host namespace.
    fn host(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns_path())).args(args);
        output_within(&mut cmd, Duration::from_secs(60))
    }

    fn minibox(&self, args: &[&str]) -> Output {
        self.root.run(args)
    }

    fn inspect(&self, name: &str) -> serde_json::Value {
        self.root.inspect(name)
    }

    /// A page fetched from the lab's host namespace (busybox wget, bounded).
    fn fetch(&self, url: &str) -> Option<String> {
        let out = self.host(&["timeout", "5", "busybox", "wget", "-q", "-O-", url]);
        out.status.success().then(|| text(&out))
    }

    fn fetch_soon(&self, url: &str) -> String {
        let mut page = None;
        wait_until(&format!("{url} to answer"), Duration::from_secs(10), || {
            page = self.fetch(url);
            page.is_some()
        });
        page.unwrap_or_default()
    }

    fn links(&self) -> String {
        ok(self.host(&["ip", "-o", "link", "show"]), "ip link")
    }

    fn rules(&self) -> String {
        let nat = ok(self.host(&["iptables", "-w", "-t", "nat", "-S"]), "nat -S");
        nat + &ok(self.host(&["iptables", "-w", "-S"]), "filter -S")
    }

    /// No device, rule or lease of ours on the lab's host.
    fn assert_network_clean(&self) {
        let links = self.links();
        assert!(
            !links.contains("mbx") && !links.contains("minibox0"),
            "devices left:\n{links}"
        );
        let rules = self.rules();
        assert!(!rules.contains("MBX"), "rules left:\n{rules}");
        let dir = self.netns.state_dir();
        assert!(!dir.exists(), "network state left in {}", dir.display());
    }

    /// Nothing at all: no container, no mount under the root, no network.
    fn assert_clean(&self) {
        self.root.assert_clean();
        self.assert_network_clean();
    }
}

fn ready(test: &str) -> bool {
    require_root(test)
        && require_tool(test, "iptables")
        && require_tool(test, "nsenter")
        && require_tool(test, "busybox")
}

fn shim_pid(lab: &Lab, name: &str) -> i32 {
    lab.inspect(name)["Shim"].as_i64().expect("a shim") as i32
}

#[test]
fn published_port_serves_a_page_inspect_and_port_show_it_rm_f_leaves_nothing() {
    if !ready("published_port_serves_a_page_inspect_and_port_show_it_rm_f_leaves_nothing") {
        return;
    }
    let lab = Lab::new();
    let run = lab.minibox(&[
        "run", "-d", "--name", "web", "-p", "8080:80", "web:1", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    let id = ok(run, "run -d -p 8080:80").trim().to_string();
    // From the host, through the DNAT rule on localhost.
    assert_eq!(lab.fetch_soon("http://127.0.0.1:8080/"), PAGE);

    let c = lab.inspect("web");
    let net = &c["NetworkSettings"];
    let ip = net["IPAddress"].as_str().unwrap().to_string();
    assert!(ip.starts_with("172.17.0."), "{net}");
    assert_eq!(net["Gateway"], "172.17.0.1", "{net}");
    assert_eq!(net["IPPrefixLen"], 16, "{net}");
    assert_eq!(
        net["Ports"]["80/tcp"],
        serde_json::json!([{"HostIp": "0.0.0.0", "HostPort": "8080"}])
    );
    assert_eq!(net["Networks"]["bridge"]["IPAddress"], ip.as_str());
    assert_eq!(c["HostConfig"]["NetworkMode"], "bridge");
    assert_eq!(
        c["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        "8080"
    );
    // And directly at its address on the bridge.
    assert_eq!(lab.fetch_soon(&format!("http://{ip}/")), PAGE);

    assert_eq!(
        ok(lab.minibox(&["port", "web"]), "port"),
        "80/tcp -> 0.0.0.0:8080\n"
    );
    assert_eq!(
        ok(lab.minibox(&["port", "web", "80"]), "port 80"),
        "0.0.0.0:8080\n"
    );
    let ps = ok(lab.minibox(&["ps"]), "ps");
    assert!(ps.contains("0.0.0.0:8080->80/tcp"), "{ps}");
    let missing = lab.minibox(&["port", "web", "81/tcp"]);
    assert!(!missing.status.success());

    // A second container cannot take the same host port; it fails cleanly.
    let clash = lab.minibox(&[
        "run", "-d", "--name", "web2", "-p", "8080:80", "web:1", "httpd", "-f", "-p", "80",
    ]);
    assert_eq!(clash.status.code(), Some(125), "{clash:?}");
    let why = String::from_utf8_lossy(&clash.stderr);
    assert!(why.contains("8080"), "{why}");
    assert_eq!(lab.inspect("web2")["NetworkSettings"]["IPAddress"], "");
    ok(lab.minibox(&["rm", "web2"]), "rm web2");
    assert_eq!(lab.fetch_soon("http://127.0.0.1:8080/"), PAGE);

    ok(lab.minibox(&["rm", "-f", "web"]), "rm -f");
    assert!(lab.fetch("http://127.0.0.1:8080/").is_none());
    lab.assert_clean();
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left for {id}");
}

#[test]
fn two_containers_talk_over_the_bridge_and_stop_releases_the_address() {
    if !ready("two_containers_talk_over_the_bridge_and_stop_releases_the_address") {
        return;
    }
    let lab = Lab::new();
    ok(
        lab.minibox(&[
            "run", "-d", "--name", "server", "web:1", "httpd", "-f", "-p", "80", "-h", "/www",
        ]),
        "run server",
    );
    let server_ip = lab.inspect("server")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    lab.fetch_soon(&format!("http://{server_ip}/"));
    let client = lab.minibox(&[
        "run",
        "--rm",
        "--hostname",
        "client",
        "--add-host",
        "db:192.0.2.10",
        "--dns",
        "192.0.2.53",
        "web:1",
        "sh",
        "-c",
        &format!(
            "ip -4 addr show eth0; cat /etc/hosts /etc/resolv.conf; timeout 5 wget -q -O- http://{server_ip}/"
        ),
    ]);
    let out = ok(client, "client");
    assert!(out.contains(PAGE), "{out}");
    assert!(out.contains("192.0.2.10\tdb"), "{out}");
    assert!(out.contains("nameserver 192.0.2.53"), "{out}");
    let client_line = out.lines().find(|l| l.contains("\tclient")).unwrap_or("");
    let client_ip = client_line.split('\t').next().unwrap_or("");
    assert!(client_ip.starts_with("172.17.0."), "{out}");
    assert_ne!(client_ip, server_ip, "two containers, one address");
    assert!(out.contains(&format!("inet {client_ip}/16")), "{out}");

    // stop: SIGTERM to the server, its shim detaches it on the way out.
    ok(lab.minibox(&["stop", "-t", "5", "server"]), "stop");
    let c = lab.inspect("server");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["NetworkSettings"]["IPAddress"], "");
    lab.assert_network_clean();
    // Started again: on the bridge again.
    ok(lab.minibox(&["start", "server"]), "start");
    let again = lab.inspect("server")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    lab.fetch_soon(&format!("http://{again}/"));
    ok(lab.minibox(&["rm", "-f", "server"]), "rm -f");
    lab.assert_clean();
}

#[test]
fn a_killed_shim_is_reconciled_by_the_next_command_and_rm() {
    if !ready("a_killed_shim_is_reconciled_by_the_next_command_and_rm") {
        return;
    }
    let lab = Lab::new();
    let id = ok(
        lab.minibox(&[
            "run", "-d", "--name", "web", "-p", "8081:80", "web:1", "httpd", "-f", "-p", "80",
            "-h", "/www",
        ]),
        "run",
    )
    .trim()
    .to_string();
    lab.fetch_soon("http://127.0.0.1:8081/");
    let shim = shim_pid(&lab, "web");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    minibox::engine::wait_pid(shim, Duration::from_secs(5));
    // The next command sees the shim gone: container killed, network removed.
    let ps = ok(lab.minibox(&["ps", "-a"]), "ps -a");
    assert!(ps.contains("Exited (137)"), "{ps}");
    lab.assert_network_clean();
    ok(lab.minibox(&["rm", "web"]), "rm");
    lab.assert_clean();
    assert!(cgroup_dirs_named(&id).is_empty(), "cgroups left for {id}");

    // kill -9 of shim and container together, then `rm` straight away.
    ok(
        lab.minibox(&[
            "run", "-d", "--name", "web", "-p", "8081:80", "web:1", "httpd", "-f", "-p", "80",
            "-h", "/www",
        ]),
        "run again",
    );
    lab.fetch_soon("http://127.0.0.1:8081/");
    let shim = shim_pid(&lab, "web");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    ok(lab.minibox(&["rm", "-f", "web"]), "rm -f");
    lab.assert_clean();
}

#[test]
fn doctor_clean_reclaims_the_lease_of_a_container_killed_with_its_shim() {
    if !ready("doctor_clean_reclaims_the_lease_of_a_container_killed_with_its_shim") {
        return;
    }
    let lab = Lab::new();
    ok(
        lab.minibox(&[
            "run", "-d", "--name", "web", "-p", "8082:80", "web:1", "httpd", "-f", "-p", "80",
            "-h", "/www",
        ]),
        "run",
    );
    lab.fetch_soon("http://127.0.0.1:8082/");
    let c = lab.inspect("web");
    let (shim, init) = (
        c["Shim"].as_i64().unwrap() as i32,
        c["State"]["Pid"].as_i64().unwrap() as i32,
    );
    for pid in [shim, init] {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        minibox::engine::wait_pid(pid, Duration::from_secs(5));
    }
    let report = lab.minibox(&["doctor", "--json"]);
    let before = text(&report);
    assert!(
        before.contains("belong to containers that are gone"),
        "{before}"
    );
    let cleaned = text(&lab.minibox(&["doctor", "--clean", "--json"]));
    assert!(cleaned.contains("reclaimed 1 stale lease"), "{cleaned}");
    lab.assert_network_clean();
    ok(lab.minibox(&["rm", "-f", "web"]), "rm -f");
    lab.assert_clean();
}

#[test]
fn network_none_and_host_still_work_and_bad_flags_change_nothing() {
    if !ready("network_none_and_host_still_work_and_bad_flags_change_nothing") {
        return;
    }
    let lab = Lab::new();
    // A device only the lab's host has: host mode sees it, none does not.
    ok(
        lab.host(&[
            "ip", "link", "add", "labmark0", "type", "veth", "peer", "name", "labmark1",
        ]),
        "veth",
    );
    let none = ok(
        lab.minibox(&["run", "--rm", "--network", "none", "web:1", "ip", "link"]),
        "none",
    );
    assert!(
        !none.contains("labmark0") && !none.contains("eth0"),
        "{none}"
    );
    assert!(none.contains("lo"), "{none}");
    let host = ok(
        lab.minibox(&["run", "--rm", "--network", "host", "web:1", "ip", "link"]),
        "host",
    );
    assert!(host.contains("labmark0"), "{host}");

    for bad in [
        &["--network", "none", "-p", "8080:80"][..],
        &["-p", "80"][..],
        &["-p", "99999:80"][..],
        &["--network", "mynet"][..],
        &["--dns", "not-an-ip"][..],
        &["--add-host", "nocolon"][..],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(bad);
        args.extend(["web:1", "true"]);
        let out = lab.minibox(&args);
        assert_eq!(out.status.code(), Some(125), "{bad:?}: {out:?}");
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(why.contains("minibox: error:"), "{bad:?}: {why}");
    }
    // Attached after create, then start fails (no such command): detached too.
    let missing = lab.minibox(&["run", "--rm", "-p", "8084:80", "web:1", "/no/such/command"]);
    assert_eq!(missing.status.code(), Some(127), "{missing:?}");
    let kept = lab.minibox(&["run", "--name", "gone", "web:1", "/no/such/command"]);
    assert_eq!(kept.status.code(), Some(127), "{kept:?}");
    lab.assert_network_clean();
    ok(lab.minibox(&["rm", "gone"]), "rm");
    ok(lab.host(&["ip", "link", "del", "labmark0"]), "del veth");
    lab.assert_clean();
}

#[test]
fn parallel_runs_get_distinct_addresses_and_leave_nothing() {
    if !ready("parallel_runs_get_distinct_addresses_and_leave_nothing") {
        return;
    }
    let lab = Lab::new();
    // Short-lived runs at once: one ends, the next attach reclaims its
    // lease and reuses its address (and veth name) before the first one's
    // shim detaches — which then must not take the newcomer's veth.
    let quick: Vec<_> = (0..6)
        .map(|_| {
            lab.root
                .command(&["run", "--rm", "web:1", "ip", "-4", "addr", "show", "eth0"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in quick {
        let out = minibox_testkit::bounded::collect_within(child, Duration::from_secs(60), "run");
        assert!(ok(out, "run --rm").contains("inet 172.17.0."));
    }
    lab.assert_clean();
    // Six containers started at once, all alive together (a released
    // address may be handed out again: only overlapping ones must differ).
    let children: Vec<_> = (0..6)
        .map(|i| {
            lab.root
                .command(&[
                    "run",
                    "-d",
                    "--name",
                    &format!("p{i}"),
                    "web:1",
                    "sleep",
                    "60",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = minibox_testkit::bounded::collect_within(child, Duration::from_secs(60), "run");
        ok(out, "parallel run -d");
    }
    let mut addresses: Vec<String> = (0..6)
        .map(|i| {
            let c = lab.inspect(&format!("p{i}"));
            c["NetworkSettings"]["IPAddress"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 6, "{addresses:?}");
    // And each one really has its address on eth0.
    let inside = ok(
        lab.minibox(&["exec", "p3", "ip", "-4", "addr", "show", "eth0"]),
        "exec",
    );
    let p3 = lab.inspect("p3")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(inside.contains(&format!("inet {p3}/16")), "{inside}");
    for i in 0..6 {
        ok(lab.minibox(&["rm", "-f", &format!("p{i}")]), "rm -f");
    }
    lab.assert_clean();
}

#[test]
fn runc_as_the_runtime_gets_the_same_network() {
    if !ready("runc_as_the_runtime_gets_the_same_network")
        || !require_tool("runc_as_the_runtime_gets_the_same_network", "runc")
    {
        return;
    }
    let lab = Lab::new();
    ok(
        lab.minibox(&[
            "run",
            "-d",
            "--runtime",
            "runc",
            "--name",
            "web",
            "-p",
            "8083:80",
            "web:1",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ]),
        "run --runtime runc",
    );
    assert_eq!(lab.fetch_soon("http://127.0.0.1:8083/"), PAGE);
    ok(lab.minibox(&["rm", "-f", "web"]), "rm -f");
    lab.assert_clean();
}
