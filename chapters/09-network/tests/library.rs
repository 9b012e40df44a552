//! The library as the engine and the OCI runtime use it: a network namespace
//! named by path (as `ip netns add` or a runtime's config.json names it),
//! an [`Attachment`] record written as JSON, and the teardown done later,
//! by someone else, from that record alone.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use ch01_chroot::Narrator;
use ch09_network::{
    attach, detach, reclaim_stale, AttachRequest, Attachment, NetnsRef, NetworkConfig, PortMapping,
};
use common::{in_netns, Lab};
use minibox_testkit::{require_root, require_tool, run, text, unique_name};
use std::path::PathBuf;
use std::process::Command;

/// A container's network namespace without a container: `ip netns add`.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = unique_name("ch09c");
        assert!(run(Command::new("ip").args(["netns", "add", &name]))
            .status
            .success());
        Netns(name)
    }
    fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.0))
    }
    fn exec(&self, args: &[&str]) -> String {
        text(&run(Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(args)))
        .0
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn request(name: &str, netns: &Netns, ports: &[&str]) -> AttachRequest {
    AttachRequest {
        name: name.into(),
        netns: NetnsRef::Path(netns.path()),
        owner: None,
        hostname: name.into(),
        ports: ports
            .iter()
            .map(|p| p.parse::<PortMapping>().unwrap())
            .collect(),
        dns: vec!["192.0.2.53".parse().unwrap()],
        extra_hosts: vec![("db".into(), "172.30.0.9".parse().unwrap())],
    }
}

#[test]
fn an_attachment_is_a_record_a_later_caller_tears_down() {
    if !require_root("an_attachment_is_a_record")
        || !require_tool("an_attachment_is_a_record", "iptables")
    {
        return;
    }
    let lab = Lab::new();
    let host = PathBuf::from(format!("/run/netns/{}", lab.host));
    let ctr = Netns::new();
    let subnet = "10.77.0.0/24".parse().unwrap();
    // "The engine": attach, and keep only the JSON.
    let json = in_netns(&host, || {
        let config = NetworkConfig::new("mbtest0", Some(subnet)).unwrap();
        attach(
            &config,
            &request("api", &ctr, &["127.0.0.1:8085:80/tcp", "5353:53/udp"]),
            &Narrator::silent(),
        )
        .unwrap()
        .to_json()
    });
    let record = Attachment::from_json(&json).unwrap();
    assert_eq!(record.ip.to_string(), "10.77.0.2");
    assert_eq!(record.gateway.to_string(), "10.77.0.1");
    assert_eq!(record.host_veth, "mbx0a4d0002");
    assert_eq!(record.rules.len(), 6, "three rules per published port");
    // Inside: eth0 with the address, the default route, the /etc files.
    assert!(ctr
        .exec(&["ip", "-4", "-o", "addr", "show", "eth0"])
        .contains("10.77.0.2/24"));
    assert!(ctr
        .exec(&["ip", "route"])
        .contains("default via 10.77.0.1 dev eth0"));
    let hosts = std::fs::read_to_string(record.etc_files.path("hosts")).unwrap();
    assert!(
        hosts.contains("10.77.0.2\tapi") && hosts.contains("172.30.0.9\tdb"),
        "{hosts}"
    );
    assert_eq!(
        std::fs::read_to_string(record.etc_files.path("resolv.conf")).unwrap(),
        "nameserver 192.0.2.53\n"
    );
    let rules = lab.rules();
    assert!(rules.contains("-A MBX-PORTS-mbtest0 -d 127.0.0.1/32 -p tcp -m tcp --dport 8085 -m comment --comment \"minibox:api\" -j DNAT --to-destination 10.77.0.2:80"), "{rules}");
    assert!(rules.contains("-p udp -m udp --dport 5353"), "{rules}");
    // A caller in another namespace is refused: the rules are not there.
    let elsewhere = detach(&record, &Narrator::silent())
        .unwrap_err()
        .to_string();
    assert!(
        elsewhere.contains("was made in another network namespace"),
        "{elsewhere}"
    );
    // "A later process": nothing but the record, in the host namespace.
    in_netns(&host, || detach(&record, &Narrator::silent()).unwrap());
    assert!(
        !ctr.exec(&["ip", "link"]).contains("eth0"),
        "the veth went, both ends"
    );
    lab.assert_clean();
    // Twice is fine: what is gone is skipped.
    in_netns(&host, || detach(&record, &Narrator::silent()).unwrap());
    lab.assert_clean();
}

#[test]
fn a_lease_whose_namespace_is_gone_is_reclaimed() {
    if !require_root("a_lease_whose_namespace_is_gone")
        || !require_tool("a_lease_whose_namespace_is_gone", "iptables")
    {
        return;
    }
    let lab = Lab::new();
    let host = PathBuf::from(format!("/run/netns/{}", lab.host));
    let (first, second) = (Netns::new(), Netns::new());
    let config = in_netns(&host, || NetworkConfig::new("mbtest1", None).unwrap());
    in_netns(&host, || {
        attach(
            &config,
            &request("one", &first, &["8086:80"]),
            &Narrator::silent(),
        )
        .unwrap();
        attach(&config, &request("two", &second, &[]), &Narrator::silent()).unwrap();
    });
    let leases = in_netns(&host, || ch09_network::leases(&config).unwrap());
    assert_eq!(
        leases.iter().map(|l| l.ip.to_string()).collect::<Vec<_>>(),
        ["172.17.0.2", "172.17.0.3"]
    );
    // The first container's namespace goes (no owner process: the path tells).
    drop(first);
    let reclaimed = in_netns(&host, || {
        reclaim_stale(&config, &Narrator::silent()).unwrap()
    });
    assert_eq!(reclaimed, ["one"]);
    assert!(!lab.rules().contains("minibox:one"), "{}", lab.rules());
    assert!(
        lab.links().contains("mbtest1"),
        "the bridge stays while \"two\" is on it"
    );
    drop(second);
    let reclaimed = in_netns(&host, || {
        reclaim_stale(&config, &Narrator::silent()).unwrap()
    });
    assert_eq!(reclaimed, ["two"]);
    lab.assert_clean();
}

#[test]
fn a_late_detach_of_a_reclaimed_lease_leaves_its_successor_alone() {
    if !require_root("a_late_detach_of_a_reclaimed_lease")
        || !require_tool("a_late_detach_of_a_reclaimed_lease", "iptables")
    {
        return;
    }
    let lab = Lab::new();
    let host = PathBuf::from(format!("/run/netns/{}", lab.host));
    let (first, second) = (Netns::new(), Netns::new());
    let config = in_netns(&host, || NetworkConfig::new("mbtest2", None).unwrap());
    let old = in_netns(&host, || {
        attach(&config, &request("one", &first, &[]), &Narrator::silent()).unwrap()
    });
    // "one" ends; before its owner detaches, another run reclaims its
    // lease and the next container gets the same address (and veth name).
    drop(first);
    let new = in_netns(&host, || {
        attach(
            &config,
            &request("two", &second, &["8087:80"]),
            &Narrator::silent(),
        )
        .unwrap()
    });
    assert_eq!((new.ip, &new.host_veth), (old.ip, &old.host_veth));
    // The late detach of "one" must not take "two"'s veth or rules.
    in_netns(&host, || detach(&old, &Narrator::silent()).unwrap());
    assert!(lab.links().contains(&new.host_veth), "{}", lab.links());
    assert!(lab.rules().contains("minibox:two"), "{}", lab.rules());
    assert!(second
        .exec(&["ip", "-o", "addr"])
        .contains(&new.ip.to_string()));
    in_netns(&host, || detach(&new, &Narrator::silent()).unwrap());
    lab.assert_clean();
}
