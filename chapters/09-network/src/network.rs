//! The network: a bridge with the gateway address, forwarding on, and our
//! chains — made by the first container, removed after the last.

use crate::address;
use crate::attach::NetworkConfig;
use crate::error::NetworkError;
use crate::firewall::{Iptables, Rule};
use crate::link;
use crate::netlink::Netlink;
use crate::rules::Chains;
use crate::state::NetworkState;
use crate::subnet::Subnet;
use ch01_chroot::Narrator;

// ANCHOR: ensure
/// Makes sure the network exists and is complete: the bridge with its
/// address, up; forwarding on; our chains, their rules and the jumps to
/// them. Every step checks first, so it also repairs what a killed run
/// left half done.
pub fn ensure(
    nl: &mut Netlink,
    ipt: &Iptables,
    state: Option<NetworkState>,
    config: &NetworkConfig,
    narrator: &Narrator,
) -> Result<NetworkState, NetworkError> {
    let bridge = &config.bridge;
    let existing = link::index_of(nl, bridge)
        .map_err(NetworkError::netlink(format!("ip link show {bridge}")))?;
    let (index, state) = match existing {
        Some(index) => (index, adopt(nl, index, state, config, narrator)?),
        None => create(nl, state, config, narrator)?,
    };
    match complete(nl, ipt, &state, index, existing.is_none(), narrator) {
        Ok(()) => Ok(state),
        Err(err) => {
            // Half a network helps nobody: if no container is on it, undo it.
            if state.leases.is_empty() {
                let _ = teardown(nl, ipt, &state, &Narrator::silent());
            }
            Err(err)
        }
    }
}
// ANCHOR_END: ensure

/// The bridge's address, up; forwarding; the rules.
fn complete(
    nl: &mut Netlink,
    ipt: &Iptables,
    state: &NetworkState,
    index: u32,
    new: bool,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    let bridge = &state.bridge;
    let shown = format!(
        "ip addr add {}/{} dev {bridge}",
        state.gateway,
        state.subnet.prefix()
    );
    address::add_address(nl, index, state.gateway, &state.subnet)
        .map_err(NetworkError::netlink(&shown))?;
    link::set_up(nl, index).map_err(NetworkError::netlink(format!("ip link set {bridge} up")))?;
    if new {
        narrator.syscall(
            &format!("{shown} && ip link set {bridge} up"),
            "the gateway: the host's address on the switch, the containers' way out",
        );
    }
    enable_forwarding(bridge, narrator)?;
    ensure_rules(ipt, state, narrator)
}

/// No bridge yet: choose its subnet and make it.
fn create(
    nl: &mut Netlink,
    state: Option<NetworkState>,
    config: &NetworkConfig,
    narrator: &Narrator,
) -> Result<(u32, NetworkState), NetworkError> {
    let bridge = &config.bridge;
    let subnet = choose_subnet(nl, config, narrator)?;
    narrator.step(&format!(
        "network {bridge} ({subnet}) does not exist yet: creating it"
    ));
    let shown = format!("ip link add {bridge} type bridge");
    link::create_bridge(nl, bridge).map_err(NetworkError::netlink(&shown))?;
    narrator.syscall(
        &shown,
        "RTM_NEWLINK kind \"bridge\": a virtual switch in the host's namespace",
    );
    let index = link::index_existing(nl, bridge).map_err(NetworkError::netlink(&shown))?;
    let state = NetworkState {
        bridge: bridge.clone(),
        subnet,
        gateway: subnet.gateway(),
        // We made it now (even if a bridge of that name was there before it went).
        created_bridge: true,
        leases: state.map(|s| s.leases).unwrap_or_default(),
    };
    Ok((index, state))
}

/// The bridge exists: take its subnet (and keep our record of who made it).
fn adopt(
    nl: &mut Netlink,
    index: u32,
    state: Option<NetworkState>,
    config: &NetworkConfig,
    narrator: &Narrator,
) -> Result<NetworkState, NetworkError> {
    let bridge = &config.bridge;
    if let Some(state) = state {
        return Ok(state);
    }
    let addresses = address::ipv4_addresses(nl, index).map_err(NetworkError::netlink(format!(
        "ip -4 addr show dev {bridge}"
    )))?;
    let (gateway, subnet) = match (addresses.first(), config.subnet) {
        (Some((ip, subnet)), Some(wanted)) if *subnet != wanted => {
            return Err(NetworkError::BridgeHasOtherSubnet {
                bridge: bridge.clone(),
                actual: format!("{ip}/{}", subnet.prefix()),
                wanted: wanted.to_string(),
            })
        }
        (Some((ip, subnet)), _) => (*ip, *subnet),
        (None, _) => {
            let subnet = choose_subnet(nl, config, narrator)?;
            (subnet.gateway(), subnet)
        }
    };
    narrator.step(&format!(
        "the bridge {bridge} exists already ({gateway}/{}): using it, and leaving it in place afterwards",
        subnet.prefix()
    ));
    Ok(NetworkState {
        bridge: bridge.clone(),
        subnet,
        gateway,
        created_bridge: false,
        leases: Vec::new(),
    })
}

// ANCHOR: choose_subnet_asked
/// The subnet for a new bridge: the one asked for, if no route of the host
/// overlaps it; else the first of docker's pools that none overlaps.
/// (A subnet already routed elsewhere — a VPN, docker0, the LAN — would make
/// those addresses unreachable from the host, or the containers' answers
/// go the wrong way.)
fn choose_subnet(
    nl: &mut Netlink,
    config: &NetworkConfig,
    narrator: &Narrator,
) -> Result<Subnet, NetworkError> {
    let routes = address::ipv4_routes(nl).map_err(NetworkError::netlink("ip -4 route show"))?;
    let clash = |subnet: &Subnet| {
        routes
            .iter()
            .find(|r| r.destination.overlaps(subnet))
            .cloned()
    };
    if let Some(wanted) = config.subnet {
        return match clash(&wanted) {
            None => Ok(wanted),
            Some(route) => Err(NetworkError::SubnetTaken {
                subnet: wanted.to_string(),
                route: route.destination.to_string(),
                via: route.device.and_then(device_name),
            }),
        };
    }
    // ANCHOR_END: choose_subnet_asked
    // ANCHOR: choose_subnet_pools
    for candidate in Subnet::default_candidates() {
        match clash(&candidate) {
            None => return Ok(candidate),
            Some(route) => narrator.step(&format!(
                "{candidate} overlaps the host's route to {}{}: trying the next subnet",
                route.destination,
                route
                    .device
                    .and_then(device_name)
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            )),
        }
    }
    Err(NetworkError::NoFreeSubnet)
}
// ANCHOR_END: choose_subnet_pools

/// A device's name by index (if_indextoname(3), in our namespace).
fn device_name(index: u32) -> Option<String> {
    nix::net::if_::if_indextoname(index)
        .ok()
        .map(|n| n.to_string_lossy().into_owned())
}

// ANCHOR: forwarding
/// A host forwards packets between interfaces only with ip_forward=1 (a new
/// network namespace starts with 0). route_localnet on the bridge lets
/// 127.0.0.1, DNATed to a container, leave through it: the localhost case.
fn enable_forwarding(bridge: &str, narrator: &Narrator) -> Result<(), NetworkError> {
    for (path, what) in [
        (
            "/proc/sys/net/ipv4/ip_forward".to_string(),
            "sysctl net.ipv4.ip_forward=1",
        ),
        (
            format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
            "route_localnet",
        ),
    ] {
        let now = std::fs::read_to_string(&path).map_err(NetworkError::io("reading", &path))?;
        if now.trim() != "1" {
            std::fs::write(&path, "1").map_err(NetworkError::io("writing 1 to", &path))?;
            if what == "route_localnet" {
                narrator.syscall(
                    &format!("sysctl net.ipv4.conf.{bridge}.route_localnet=1"),
                    "127.0.0.1:PORT may be DNATed out of the bridge (the localhost case)",
                );
            } else {
                narrator.syscall(what, "the host now routes between interfaces (left on afterwards: other engines rely on it)");
            }
        }
    }
    Ok(())
}
// ANCHOR_END: forwarding

/// Our chains, the network's rules in them, then the jumps (last: no
/// packet enters a chain before its rules are complete).
fn ensure_rules(
    ipt: &Iptables,
    state: &NetworkState,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    let chains = Chains::for_bridge(&state.bridge);
    for (table, chain) in chains.all() {
        if ipt.new_chain(table, chain)? {
            let t = if table == crate::firewall::Table::Nat {
                "-t nat "
            } else {
                ""
            };
            narrator.detail(&format!("iptables {t}-N {chain}"));
        }
    }
    let mut added = 0;
    for rule in chains.base_rules(&state.bridge, &state.subnet) {
        if ipt.append(&rule)? {
            narrator.detail(&rule.shown("-A"));
            added += 1;
        }
    }
    for rule in chains.jumps() {
        if ipt.insert(&rule)? {
            narrator.detail(&rule.shown("-I"));
            added += 1;
        }
    }
    if added > 0 {
        narrator.syscall(
            &format!(
                "iptables -t nat -A {} -s {} ! -o {} -j MASQUERADE",
                chains.masquerade, state.subnet, state.bridge
            ),
            &format!(
                "outbound NAT, in chains of our own ({}, {}, {}, {}); -v shows every rule",
                chains.ports, chains.masquerade, chains.forward, chains.input
            ),
        );
    }
    Ok(())
}

// ANCHOR: teardown
/// The last container has left: jumps first (no packet enters our chains
/// any more), then our chains, then the bridge — if we made it.
pub fn teardown(
    nl: &mut Netlink,
    ipt: &Iptables,
    state: &NetworkState,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    let chains = Chains::for_bridge(&state.bridge);
    let jumps: Vec<Rule> = chains.jumps();
    for rule in &jumps {
        ipt.delete(rule)?;
    }
    for (table, chain) in chains.all() {
        ipt.remove_chain(table, chain)?;
    }
    narrator.syscall(
        &format!(
            "iptables -D PREROUTING/OUTPUT/POSTROUTING/FORWARD/INPUT …; iptables -F/-X {} …",
            chains.ports
        ),
        "our jumps out of the built-in chains, then our own chains",
    );
    if state.created_bridge {
        let bridge = &state.bridge;
        if link::delete_named(nl, bridge)
            .map_err(NetworkError::netlink(format!("ip link del {bridge}")))?
        {
            narrator.syscall(
                &format!("ip link del {bridge}"),
                "the last container has left: the switch goes too",
            );
        }
    }
    Ok(())
}
// ANCHOR_END: teardown
