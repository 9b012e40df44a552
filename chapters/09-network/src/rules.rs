//! Which firewall rules a network and a container get, and why each.
//!
//! One network (one bridge) owns four chains; built-in chains get one jump
//! to each. Everything else is in our chains, so `iptables -t nat -S` shows
//! at a glance what minibox added, and removing a network is: delete the
//! jumps, flush and delete our chains.

use crate::firewall::{Rule, Table};
use crate::ports::PortMapping;
use crate::subnet::Subnet;
use std::net::Ipv4Addr;

/// The chains of the network on `bridge` (names ≤ 28 characters: a bridge
/// name is ≤ 15).
#[derive(Debug, Clone)]
pub struct Chains {
    /// nat: DNAT for published ports (docker: DOCKER).
    pub ports: String,
    /// nat: MASQUERADE (docker: rules in POSTROUTING).
    pub masquerade: String,
    /// filter: what may be forwarded to and from the bridge (docker: DOCKER-FORWARD).
    pub forward: String,
    /// filter: the guard that goes with route_localnet (see [`Chains::base_rules`]).
    pub input: String,
}

impl Chains {
    pub fn for_bridge(bridge: &str) -> Chains {
        Chains {
            ports: format!("MBX-PORTS-{bridge}"),
            masquerade: format!("MBX-MASQ-{bridge}"),
            forward: format!("MBX-FWD-{bridge}"),
            input: format!("MBX-IN-{bridge}"),
        }
    }

    /// (table, chain) of each, in the order they are created.
    pub fn all(&self) -> [(Table, &str); 4] {
        [
            (Table::Nat, self.ports.as_str()),
            (Table::Nat, self.masquerade.as_str()),
            (Table::Filter, self.forward.as_str()),
            (Table::Filter, self.input.as_str()),
        ]
    }

    // ANCHOR: jumps
    /// The only rules we put into built-in chains: one jump to each of ours.
    pub fn jumps(&self) -> Vec<Rule> {
        vec![
            // Packets from outside to one of the host's addresses: published ports.
            Rule::new(
                Table::Nat,
                "PREROUTING",
                &["-m", "addrtype", "--dst-type", "LOCAL", "-j", &self.ports],
            ),
            // The host's own connections to itself (127.0.0.1:8080) never
            // pass PREROUTING: they start in OUTPUT.
            Rule::new(
                Table::Nat,
                "OUTPUT",
                &["-m", "addrtype", "--dst-type", "LOCAL", "-j", &self.ports],
            ),
            Rule::new(Table::Nat, "POSTROUTING", &["-j", &self.masquerade]),
            Rule::new(Table::Filter, "FORWARD", &["-j", &self.forward]),
            Rule::new(Table::Filter, "INPUT", &["-j", &self.input]),
        ]
    }
    // ANCHOR_END: jumps

    // ANCHOR: base_rules
    /// The network's own rules, made with the bridge.
    pub fn base_rules(&self, bridge: &str, subnet: &Subnet) -> Vec<Rule> {
        let subnet = subnet.to_string();
        vec![
            // Outbound: a container's address means nothing beyond this
            // host, so its packets leave with the host's address (SNAT to
            // whichever address the outgoing interface has), and conntrack
            // maps the answers back.
            Rule::new(
                Table::Nat,
                &self.masquerade,
                &["-s", &subnet, "!", "-o", bridge, "-j", "MASQUERADE"],
            ),
            // Localhost: after OUTPUT's DNAT a connection from 127.0.0.1
            // goes out of the bridge; the container could not answer
            // 127.0.0.1 (that is its own lo), so it gets the bridge's address.
            Rule::new(
                Table::Nat,
                &self.masquerade,
                &["-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"],
            ),
            // Forwarding: whatever the containers send, and the answers to it
            // (a host whose FORWARD policy is DROP — docker sets that — would drop them).
            Rule::new(
                Table::Filter,
                &self.forward,
                &["-i", bridge, "-j", "ACCEPT"],
            ),
            Rule::new(
                Table::Filter,
                &self.forward,
                &[
                    "-o",
                    bridge,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "RELATED,ESTABLISHED",
                    "-j",
                    "ACCEPT",
                ],
            ),
            // route_localnet lets 127.0.0.1 be routed on the bridge; without
            // this guard a container could send packets *to* 127.0.0.1 and
            // reach the host's local-only services (CVE-2020-8558). Answers
            // to connections the host made are ESTABLISHED and pass.
            Rule::new(
                Table::Filter,
                &self.input,
                &[
                    "-i",
                    bridge,
                    "-d",
                    "127.0.0.0/8",
                    "-m",
                    "conntrack",
                    "!",
                    "--ctstate",
                    "RELATED,ESTABLISHED",
                    "-j",
                    "DROP",
                ],
            ),
        ]
    }
    // ANCHOR_END: base_rules

    // ANCHOR: port_rules
    /// One published port's rules: DNAT, let it through, and the hairpin.
    pub fn port_rules(
        &self,
        bridge: &str,
        name: &str,
        ip: Ipv4Addr,
        port: &PortMapping,
    ) -> Vec<Rule> {
        let proto = port.protocol.name();
        let host_port = port.host_port.to_string();
        let container_port = port.container_port.to_string();
        let to = format!("{ip}:{}", port.container_port);
        let ip32 = format!("{ip}/32");
        // The comment names the container in `iptables -S`.
        let comment = format!("minibox {name}");
        let mut dnat = vec![];
        let host_ip = port.host_ip.map(|h| format!("{h}/32"));
        if let Some(host_ip) = &host_ip {
            dnat.extend(["-d", host_ip.as_str()]);
        }
        dnat.extend([
            "-p",
            proto,
            "-m",
            proto,
            "--dport",
            &host_port,
            "-m",
            "comment",
            "--comment",
            &comment,
            "-j",
            "DNAT",
            "--to-destination",
            &to,
        ]);
        vec![
            // Connections to the host's port go to the container's.
            Rule::new(Table::Nat, &self.ports, &dnat),
            // After DNAT the packet is forwarded to the bridge: allow it.
            Rule::new(
                Table::Filter,
                &self.forward,
                &[
                    "-d",
                    &ip32,
                    "-o",
                    bridge,
                    "-p",
                    proto,
                    "-m",
                    proto,
                    "--dport",
                    &container_port,
                    "-m",
                    "comment",
                    "--comment",
                    &comment,
                    "-j",
                    "ACCEPT",
                ],
            ),
            // Hairpin: the container calling its own published port would
            // get the answer from itself, to itself, and drop it: masquerade.
            Rule::new(
                Table::Nat,
                &self.masquerade,
                &[
                    "-s",
                    &ip32,
                    "-d",
                    &ip32,
                    "-p",
                    proto,
                    "-m",
                    proto,
                    "--dport",
                    &container_port,
                    "-m",
                    "comment",
                    "--comment",
                    &comment,
                    "-j",
                    "MASQUERADE",
                ],
            ),
        ]
    }
    // ANCHOR_END: port_rules
}
