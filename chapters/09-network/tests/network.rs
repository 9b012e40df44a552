//! The chapter's promises, each proved against the real kernel in a "host"
//! network namespace of the test's own (see common/mod.rs).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{inet_address, wait_for, Lab, HOST_UPLINK, INTERNET};
use minibox_testkit::bounded::output_within;
use minibox_testkit::{require_root, require_tool, text};
use std::process::Stdio;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);
/// How long to wait for a container to come up (or go): generous, because
/// under emulation (the cgroup v2 lane's qemu) debug builds run many times
/// slower. Polling ends as soon as the condition holds.
const PATIENCE: Duration = Duration::from_secs(60);

fn ready(test: &str) -> bool {
    require_root(test) && require_tool(test, "ip") && require_tool(test, "iptables")
}

#[test]
fn two_containers_exchange_tcp_over_the_bridge() {
    if !ready("two_containers_exchange_tcp_over_the_bridge") {
        return;
    }
    let lab = Lab::new();
    // The first container on a fresh bridge gets 172.17.0.2.
    let server = common::Running::spawn(
        lab.demo(&[
            "--name",
            "srv",
            "--",
            "sh",
            "-c",
            "(echo pong; sleep 2) | nc -l -p 7000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()),
    );
    // The server's lease first, so the addresses are known: .2 and .3.
    assert!(wait_for(PATIENCE, || {
        std::fs::read_to_string(lab.state_dir().join("minibox0.json"))
            .is_ok_and(|s| s.contains("\"srv\""))
    }));
    let client = output_within(
        &mut lab.demo(&[
            "--name", "cli", "--", "sh", "-c",
            "for i in $(seq 300); do (echo ping; sleep 2) | nc 172.17.0.2 7000 && exit 0; sleep 0.1; done; exit 1",
        ]),
        LIMIT,
    );
    let server = server.collect(LIMIT, "the server container");
    let (client_out, client_err) = text(&client);
    let (server_out, server_err) = text(&server);
    assert!(client.status.success(), "client: {client_err}");
    assert!(server.status.success(), "server: {server_err}");
    assert!(
        client_out.contains("pong"),
        "the client heard: {client_out:?}"
    );
    assert!(
        server_out.contains("ping"),
        "the server heard: {server_out:?}"
    );
    assert!(
        client_err.contains("leased 172.17.0.3 for \"cli\""),
        "{client_err}"
    );
    lab.assert_clean();
}

#[test]
fn a_published_port_answers_on_localhost_the_hosts_address_from_outside_and_from_itself() {
    if !ready("published_port") {
        return;
    }
    let lab = Lab::with_internet();
    // Last, the container calls its own published port (the hairpin) once
    // the test says go; it writes what it got where the test can read it.
    let own_port = format!(
        "while [ ! -e /www/go ]; do sleep 0.1; done; wget -qO- http://{HOST_UPLINK}:8080/ > /www/got; echo $? > /www/done"
    );
    let mut web = common::Running::spawn(
        lab.demo(&[
            "--name",
            "web",
            "-p",
            "8080:80",
            "--",
            "sh",
            "-c",
            &format!("httpd -p 80 -h /www && {own_port}; sleep 30"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null()),
    );
    let get = |url: &str, from_internet: bool| {
        let mut answer = String::new();
        wait_for(PATIENCE, || {
            let args = ["timeout", "5", "busybox", "wget", "-qO-", url];
            let out = if from_internet {
                lab.in_internet(&args)
            } else {
                lab.in_host(&args)
            };
            answer = text(&out).0;
            out.status.success()
        });
        answer
    };
    let page = "hello from the container\n";
    assert_eq!(
        get("http://127.0.0.1:8080/", false),
        page,
        "localhost (OUTPUT DNAT + route_localnet)"
    );
    assert_eq!(
        get(&format!("http://{HOST_UPLINK}:8080/"), false),
        page,
        "the host's own address"
    );
    assert_eq!(
        get(&format!("http://{HOST_UPLINK}:8080/"), true),
        page,
        "from the internet (PREROUTING DNAT)"
    );
    // The rules name the container.
    assert!(lab.rules().contains("minibox:web"), "{}", lab.rules());
    let www = lab.rootfs.path().join("www");
    std::fs::write(www.join("go"), "").unwrap();
    assert!(wait_for(PATIENCE, || www.join("done").exists()));
    assert_eq!(
        std::fs::read_to_string(www.join("got")).unwrap(),
        page,
        "the container reached its own published port (hairpin)"
    );
    nix::sys::signal::kill(web.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = minibox_testkit::bounded::wait_within(web.child(), LIMIT, "the web container");
    assert_eq!(
        out.code(),
        Some(143),
        "SIGTERM reached the container: 128+15"
    );
    lab.assert_clean();
}

#[test]
fn outbound_traffic_leaves_with_the_hosts_address() {
    if !ready("outbound_traffic_leaves_with_the_hosts_address") {
        return;
    }
    let lab = Lab::with_internet();
    let inet = std::path::PathBuf::from(format!("/run/netns/{}", lab.internet.clone().unwrap()));
    // "The internet": a server that records who called. Its socket is made
    // on a thread that entered the internet namespace, and lives there.
    let listener = common::in_netns(&inet, || {
        std::net::TcpListener::bind(format!("{INTERNET}:9000")).unwrap()
    });
    let seen = std::thread::spawn(move || {
        let (mut conn, peer) = listener.accept().unwrap();
        let mut said = String::new();
        std::io::Read::read_to_string(&mut conn, &mut said).unwrap();
        (peer.ip().to_string(), said)
    });
    let out = output_within(
        &mut lab.demo(&[
            "--name",
            "out",
            "--",
            "sh",
            "-c",
            &format!("ip -4 -o addr show eth0; echo hello-internet | nc {INTERNET} 9000"),
        ]),
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let (peer, said) = seen.join().unwrap();
    assert_eq!(said, "hello-internet\n");
    assert_eq!(
        inet_address(&stdout).as_deref(),
        Some("172.17.0.2"),
        "{stdout}"
    );
    assert_eq!(
        peer, HOST_UPLINK,
        "the internet saw the host's address, not the container's 172.17.0.2"
    );
    lab.assert_clean();
}

#[test]
fn parallel_containers_get_distinct_addresses() {
    if !ready("parallel_containers_get_distinct_addresses") {
        return;
    }
    let lab = Lab::new();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut cmd = lab.demo(&[
                "-q",
                "--name",
                &format!("p{i}"),
                "--",
                "sh",
                "-c",
                "ip -4 -o addr show eth0; while [ ! -e /go ]; do sleep 0.1; done",
            ]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            common::Running::spawn(&mut cmd)
        })
        .collect();
    // All six hold their leases at once before any may end.
    let state = lab.state_dir().join("minibox0.json");
    assert!(wait_for(PATIENCE, || std::fs::read_to_string(&state)
        .is_ok_and(|s| s.matches("\"owner\"").count() == 6)));
    std::fs::write(lab.rootfs.path().join("go"), "").unwrap();
    let mut addresses: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.collect(LIMIT, "a parallel container");
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{stderr}");
            inet_address(&stdout).unwrap_or_else(|| panic!("no address in {stdout:?}"))
        })
        .collect();
    addresses.sort();
    let before = addresses.len();
    addresses.dedup();
    assert_eq!(
        addresses.len(),
        before,
        "two containers shared an address: {addresses:?}"
    );
    assert!(
        addresses.iter().all(|a| a.starts_with("172.17.0.")),
        "{addresses:?}"
    );
    lab.assert_clean();
}

#[test]
fn kill_9_leaves_a_lease_that_the_next_run_reclaims() {
    if !ready("kill_9_leaves_a_lease_that_the_next_run_reclaims") {
        return;
    }
    let lab = Lab::new();
    let mut victim = common::Running::spawn(
        lab.demo(&["--name", "victim", "-p", "8081:80", "--", "sleep", "100"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // Its rules are the last thing it adds.
    assert!(
        wait_for(PATIENCE, || lab.rules().contains("minibox:victim")),
        "{}",
        lab.rules()
    );
    victim.child().kill().unwrap();
    victim.child().wait().unwrap();
    // Its container died with it (PR_SET_PDEATHSIG), and the veth with the
    // container's namespace; the lease and the rules stay behind.
    assert!(
        wait_for(PATIENCE, || !lab.links().contains("mbxac110002")),
        "{}",
        lab.links()
    );
    assert!(lab.rules().contains("minibox:victim"), "{}", lab.rules());
    let state = std::fs::read_to_string(lab.state_dir().join("minibox0.json")).unwrap();
    assert!(state.contains("\"victim\""), "{state}");

    let next = output_within(&mut lab.demo(&["--name", "next", "--", "true"]), LIMIT);
    let (_, stderr) = text(&next);
    assert!(next.status.success(), "{stderr}");
    assert!(
        stderr.contains("reclaiming 172.17.0.2 of \"victim\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("leased 172.17.0.2 for \"next\""),
        "the address is free again: {stderr}"
    );
    lab.assert_clean();
}

#[test]
fn a_failed_start_leaves_nothing_and_says_why() {
    if !ready("a_failed_start_leaves_nothing_and_says_why") {
        return;
    }
    let lab = Lab::with_internet();
    // A subnet the host already routes (the uplink's): refused before anything is made.
    let out = output_within(
        &mut lab.demo(&["--subnet", "198.51.100.0/24", "--", "true"]),
        LIMIT,
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("the subnet 198.51.100.0/24 overlaps the host's route to 198.51.100.0/24 on uplink: choose another with --subnet"), "{stderr}");
    lab.assert_clean();
    // The command does not exist: attached at the gate, then exec failed.
    let out = output_within(
        &mut lab.demo(&["-p", "8082:80", "--", "no-such-command"]),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(127), "{}", text(&out).1);
    lab.assert_clean();
    // A host port a host program holds: DNAT would steal its connections.
    let busy = common::Running::spawn(
        std::process::Command::new("ip")
            .args([
                "netns", "exec", &lab.host, "busybox", "nc", "-l", "-p", "8083",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    assert!(wait_for(PATIENCE, || text(&lab.in_host(&["ss", "-ltn"]))
        .0
        .contains(":8083")));
    let out = output_within(&mut lab.demo(&["-p", "8083:80", "--", "true"]), LIMIT);
    drop(busy);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("host port 8083/tcp is in use by a program on this host"),
        "{stderr}"
    );
    lab.assert_clean();
}

#[test]
fn a_port_published_twice_is_refused_and_the_first_keeps_it() {
    if !ready("a_port_published_twice_is_refused_and_the_first_keeps_it") {
        return;
    }
    let lab = Lab::new();
    let first = common::Running::spawn(
        lab.demo(&[
            "--name", "first", "-p", "8084:80", "--", "httpd", "-f", "-p", "80", "-h", "/www",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped()),
    );
    assert!(wait_for(PATIENCE, || lab
        .in_host(&[
            "timeout",
            "5",
            "busybox",
            "wget",
            "-qO-",
            "http://127.0.0.1:8084/"
        ])
        .status
        .success()));
    let second = output_within(
        &mut lab.demo(&["--name", "second", "-p", "8084:81", "--", "true"]),
        LIMIT,
    );
    let (_, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("host port 8084/tcp is already published by the container \"first\""),
        "{stderr}"
    );
    let again = lab.in_host(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-qO-",
        "http://127.0.0.1:8084/",
    ]);
    assert!(again.status.success(), "the first container lost its port");
    // The same name twice is refused too.
    let twin = output_within(&mut lab.demo(&["--name", "first", "--", "true"]), LIMIT);
    assert!(
        text(&twin)
            .1
            .contains("a container named \"first\" is already on minibox0 (at 172.17.0.2)"),
        "{}",
        text(&twin).1
    );
    nix::sys::signal::kill(first.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = first.collect(LIMIT, "the first container");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out).1);
    lab.assert_clean();
}

#[test]
fn the_default_subnet_moves_aside_for_a_route_the_host_has() {
    if !ready("the_default_subnet_moves_aside_for_a_route_the_host_has") {
        return;
    }
    let lab = Lab::new();
    // Something on the host uses 172.17.0.0/16 already (docker0 would).
    for args in [
        vec![
            "ip", "link", "add", "taken0", "type", "veth", "peer", "name", "taken1",
        ],
        vec!["ip", "addr", "add", "172.17.0.1/16", "dev", "taken0"],
        vec!["ip", "link", "set", "taken0", "up"],
    ] {
        assert!(lab.in_host(&args).status.success());
    }
    let out = output_within(
        &mut lab.demo(&["--", "sh", "-c", "ip -4 -o addr show eth0; cat /etc/hosts"]),
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("172.17.0.0/16 overlaps the host's route to 172.17.0.0/16 on taken0: trying the next subnet"), "{stderr}");
    assert_eq!(
        inet_address(&stdout).as_deref(),
        Some("172.18.0.2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("172.18.0.2\tch09-"),
        "its own name in /etc/hosts: {stdout}"
    );
    let out = output_within(
        &mut lab.demo(&["--subnet", "172.17.0.0/16", "--", "true"]),
        LIMIT,
    );
    assert!(
        text(&out).1.contains(
            "the subnet 172.17.0.0/16 overlaps the host's route to 172.17.0.0/16 on taken0"
        ),
        "{}",
        text(&out).1
    );
    lab.assert_clean();
}

#[test]
fn the_etc_files_are_mounted_in_the_container_only() {
    if !ready("the_etc_files_are_mounted_in_the_container_only") {
        return;
    }
    let lab = Lab::new();
    // An rshared "/" (as on a systemd host), and no `ip netns exec` (which
    // would make every mount a slave): a mount that leaked would show here.
    let shared = minibox_testkit::propagation::SharedRoot::new();
    let hosts_before = std::fs::read_to_string(lab.rootfs.path().join("etc/hosts")).unwrap();
    let mut cmd = shared.command("nsenter");
    cmd.arg(format!("--net=/run/netns/{}", lab.host))
        .arg(common::demo())
        .arg("--rootfs")
        .arg(lab.rootfs.path())
        .args([
            "--name",
            "etc",
            "--add-host",
            "db:172.17.9.9",
            "--dns",
            "192.0.2.53",
            "--",
        ])
        .args([
            "sh",
            "-c",
            "cat /etc/hosts /etc/resolv.conf /etc/hostname; sleep 1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = common::Running::spawn(&mut cmd);
    std::thread::sleep(Duration::from_millis(500));
    let leaked = shared.mounts_under(lab.rootfs.path());
    let out = child.collect(LIMIT, "the container");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(leaked.is_empty(), "mounts leaked to the host: {leaked:?}");
    assert!(
        stdout.contains("172.17.0.2\tetc\n172.17.9.9\tdb\n"),
        "{stdout}"
    );
    assert!(stdout.contains("nameserver 192.0.2.53\n"), "{stdout}");
    assert!(stdout.ends_with("etc\n"), "{stdout}");
    // The image is as it was: its hosts untouched, no resolv.conf left behind.
    assert_eq!(
        std::fs::read_to_string(lab.rootfs.path().join("etc/hosts")).unwrap(),
        hosts_before
    );
    assert!(!lab.rootfs.path().join("etc/resolv.conf").exists());
    lab.assert_clean();
}
