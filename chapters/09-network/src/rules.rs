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
        let (nat, filter) = (Table::Nat, Table::Filter);
        let local = "-m addrtype --dst-type LOCAL -j";
        vec![
            // Packets from outside to one of the host's addresses: published ports.
            Rule::line(nat, "PREROUTING", &format!("{local} {}", self.ports)),
            // The host's own connections to itself (127.0.0.1:8080) never
            // pass PREROUTING: they start in OUTPUT.
            Rule::line(nat, "OUTPUT", &format!("{local} {}", self.ports)),
            Rule::line(nat, "POSTROUTING", &format!("-j {}", self.masquerade)),
            Rule::line(filter, "FORWARD", &format!("-j {}", self.forward)),
            Rule::line(filter, "INPUT", &format!("-j {}", self.input)),
        ]
    }
    // ANCHOR_END: jumps

    // ANCHOR: base_rules
    /// The network's own rules, made with the bridge.
    pub fn base_rules(&self, bridge: &str, subnet: &Subnet) -> Vec<Rule> {
        let (nat, filter) = (Table::Nat, Table::Filter);
        let (masq, fwd) = (&self.masquerade, &self.forward);
        let replies = "-m conntrack --ctstate RELATED,ESTABLISHED";
        let guard = format!(
            "-i {bridge} -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP"
        );
        vec![
            // Outbound: a container's address means nothing beyond this
            // host, so its packets leave with the host's address, and
            // conntrack maps the answers back.
            Rule::line(
                nat,
                masq,
                &format!("-s {subnet} ! -o {bridge} -j MASQUERADE"),
            ),
            // Localhost: after OUTPUT's DNAT a connection from 127.0.0.1
            // leaves through the bridge; the container cannot answer
            // 127.0.0.1 (its own lo), so it gets the bridge's address.
            Rule::line(
                nat,
                masq,
                &format!("-s 127.0.0.0/8 -o {bridge} -j MASQUERADE"),
            ),
            // Forwarding: what the containers send, and the answers to it
            // (a host whose FORWARD policy is DROP — docker sets that —
            // would drop them).
            Rule::line(filter, fwd, &format!("-i {bridge} -j ACCEPT")),
            Rule::line(filter, fwd, &format!("-o {bridge} {replies} -j ACCEPT")),
            // route_localnet lets 127.0.0.1 be routed on the bridge; without
            // this guard a container could send packets *to* 127.0.0.1 and
            // reach the host's local-only services (CVE-2020-8558). Answers
            // to connections the host made are ESTABLISHED and pass.
            Rule::line(filter, &self.input, &guard),
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
        let (nat, filter) = (Table::Nat, Table::Filter);
        let p = port.protocol.name();
        let (host_port, ctr_port) = (port.host_port, port.container_port);
        // Only to that host address, if one was given (127.0.0.1:8080:80).
        let to_host = port
            .host_ip
            .map(|h| format!("-d {h}/32 "))
            .unwrap_or_default();
        // The comment names the container in `iptables -S`.
        let tag = format!("-m comment --comment minibox:{name}");
        let dnat = format!("{to_host}-p {p} -m {p} --dport {host_port} {tag} -j DNAT --to-destination {ip}:{ctr_port}");
        let accept =
            format!("-d {ip}/32 -o {bridge} -p {p} -m {p} --dport {ctr_port} {tag} -j ACCEPT");
        let hairpin =
            format!("-s {ip}/32 -d {ip}/32 -p {p} -m {p} --dport {ctr_port} {tag} -j MASQUERADE");
        vec![
            // Connections to the host's port go to the container's.
            Rule::line(nat, &self.ports, &dnat),
            // After DNAT the packet is forwarded to the bridge: allow it.
            Rule::line(filter, &self.forward, &accept),
            // Hairpin: the container calling its own published port would
            // get the answer from itself, to itself, and drop it: masquerade.
            Rule::line(nat, &self.masquerade, &hairpin),
        ]
    }
    // ANCHOR_END: port_rules
}
