//! Connecting a container to a bridge network, and disconnecting it — the
//! library's API for the demo, the OCI runtime and the engine.
//!
//! [`attach`] does every step and returns an [`Attachment`]: a plain record
//! (JSON-serialisable, owns nothing) from which [`detach`] — in this
//! process or a later one — removes exactly what was added. The same record
//! is the container's lease in the network's state file, so a run killed
//! with `kill -9` leaves enough behind for the next run to clean up
//! ([`reclaim_stale`]). [`AttachmentGuard`] is the owning version for a
//! program that lives as long as its container (the demo).

use crate::error::NetworkError;
use crate::etc_files::{self, EtcFiles};
use crate::firewall::{Iptables, Rule};
use crate::netlink::Netlink;
use crate::netns::{NetnsRef, Owner};
use crate::ports::PortMapping;
use crate::rules::Chains;
use crate::state::{self, Locked, NetworkState};
use crate::subnet::Subnet;
use crate::{address, link, network};
use ch01_chroot::Narrator;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::PathBuf;

/// Which network: a bridge (created if missing) and, for a new bridge, its subnet.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    pub bridge: String,
    /// `None`: 172.17.0.0/16, or the next of docker's pools if a route of the host overlaps it.
    pub subnet: Option<Subnet>,
    /// Where the state file, its lock and the containers' /etc files live.
    pub state_dir: PathBuf,
}

/// The default bridge's name (docker's is docker0).
pub const DEFAULT_BRIDGE: &str = "minibox0";

impl NetworkConfig {
    /// `bridge` in the network namespace we run in, its state under
    /// /run/minibox/net/COOKIE (see [`crate::netns::current_cookie`]).
    pub fn new(bridge: &str, subnet: Option<Subnet>) -> Result<NetworkConfig, NetworkError> {
        check_bridge_name(bridge)?;
        let cookie = crate::netns::current_cookie()?;
        Ok(NetworkConfig {
            bridge: bridge.to_string(),
            subnet,
            state_dir: PathBuf::from(state::STATE_ROOT).join(cookie.to_string()),
        })
    }

    /// The directory of one container's /etc files (known before it starts:
    /// a child cloned earlier must know where to find them).
    pub fn etc_files_for(&self, name: &str) -> EtcFiles {
        EtcFiles {
            dir: self.state_dir.join(&self.bridge).join(name),
        }
    }
}

/// A bridge name: it becomes part of our chains' names, so 1–15 letters,
/// digits, `-`, `_`, `.` — and at most 15 for the kernel (IFNAMSIZ).
fn check_bridge_name(name: &str) -> Result<(), NetworkError> {
    let ok = !name.is_empty()
        && name.len() <= link::MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(NetworkError::Invalid {
            what: "bridge name",
            value: name.to_string(),
            expected: "1 to 15 letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. minibox0)",
        })
    }
}

/// What to connect, and how the container should see the world.
#[derive(Debug, Clone)]
pub struct AttachRequest {
    /// Unique on the network: the lease's name, the /etc/hosts entry.
    pub name: String,
    pub netns: NetnsRef,
    /// The process whose end makes the lease stale (default for
    /// [`NetnsRef::Pid`]: that process).
    pub owner: Option<Owner>,
    pub hostname: String,
    pub ports: Vec<PortMapping>,
    /// Nameservers for resolv.conf (empty: the host's).
    pub dns: Vec<Ipv4Addr>,
    /// `--add-host NAME:IP` lines for /etc/hosts.
    pub extra_hosts: Vec<(String, Ipv4Addr)>,
}

// ANCHOR: attachment
/// Everything that was set up for one container, as plain data. It owns
/// nothing: [`detach`] with it (from any process, in the same network
/// namespace as [`attach`] ran) removes exactly these things.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub name: String,
    pub bridge: String,
    pub subnet: Subnet,
    /// The container's address on the bridge, and its default route.
    pub ip: Ipv4Addr,
    pub gateway: Ipv4Addr,
    /// The host's end of the veth pair, a port of the bridge.
    pub host_veth: String,
    /// The container's end, inside its namespace.
    pub container_veth: String,
    pub netns: NetnsRef,
    pub owner: Option<Owner>,
    pub ports: Vec<PortMapping>,
    /// The firewall rules added for this container, in order.
    pub rules: Vec<Rule>,
    pub etc_files: EtcFiles,
    /// The network's state directory (lock, leases).
    pub state_dir: PathBuf,
    /// The cookie of the network namespace attach ran in (the "host").
    pub host_netns: u64,
}
// ANCHOR_END: attachment

impl Attachment {
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and lists: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Attachment, NetworkError> {
        serde_json::from_str(text).map_err(|e| NetworkError::BadState {
            path: PathBuf::from("(attachment record)"),
            reason: e.to_string(),
        })
    }

    /// The same lease: same container, address and namespace (an address
    /// is handed out again once released).
    pub fn is_same_lease(&self, other: &Attachment) -> bool {
        self.name == other.name
            && self.ip == other.ip
            && self.owner == other.owner
            && self.netns == other.netns
    }

    /// Whether the container it belongs to is gone (its lease is stale).
    pub fn is_stale(&self) -> bool {
        match &self.owner {
            Some(owner) => !owner.is_alive(),
            None => !crate::netns::is_netns(&self.netns.path()),
        }
    }
}

/// The host end's name: "mbx" and the container's address in hex
/// (172.17.0.2 → mbxac110002), unique while subnets do not overlap.
pub fn veth_name(ip: Ipv4Addr) -> String {
    format!("mbx{:08x}", u32::from(ip))
}

/// Connects the container in `request.netns` to the network: see the module doc.
pub fn attach(
    config: &NetworkConfig,
    request: &AttachRequest,
    narrator: &Narrator,
) -> Result<Attachment, NetworkError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(NetworkError::NotRoot);
    }
    let ipt = Iptables::find()?;
    let host_netns = crate::netns::current_cookie()?;
    let mut nl =
        Netlink::here().map_err(NetworkError::netlink("socket(AF_NETLINK, NETLINK_ROUTE)"))?;
    let container_ns = request.netns.open()?;
    // ANCHOR: attach_locked
    let lock = state::lock(&config.state_dir, &config.bridge)?;
    let mut state = lock.load()?;
    if let Some(state) = state.as_mut() {
        reclaim_locked(&mut nl, &ipt, state, narrator)?;
    }
    // A failure before the lease is written leaves no network nobody uses.
    let mut state = network::ensure(&mut nl, &ipt, state, config, narrator)
        .inspect_err(|_| lock.discard_if_unused())?;
    let ip = check_free(&state, request)
        .and_then(|()| state.free_address())
        .inspect_err(|_| {
            if state.leases.is_empty() {
                let _ = network::teardown(&mut nl, &ipt, &state, &Narrator::silent());
                lock.discard_if_unused();
            }
        })?;
    let attachment = plan(config, &state, request, ip, host_netns);
    // The lease is on disk before anything is made: if we are killed from
    // here on, the next run finds it, sees its owner gone and removes it all.
    state.leases.push(attachment.clone());
    lock.save(&state)?;
    narrator.step(&format!(
        "leased {ip} for {:?} in {} (under flock: parallel runs never get the same address)",
        request.name,
        lock.state_path().display()
    ));
    if let Err(err) = plumb(
        &mut nl,
        &ipt,
        &attachment,
        request,
        container_ns.as_fd(),
        narrator,
    ) {
        // Leave nothing half done: undo what was made, release the lease.
        let _ = release_locked(&mut nl, &ipt, lock, state, &attachment, &Narrator::silent());
        return Err(err);
    }
    // ANCHOR_END: attach_locked
    Ok(attachment)
}

/// Refuses a second container of the same name, or a host port taken.
fn check_free(state: &NetworkState, request: &AttachRequest) -> Result<(), NetworkError> {
    if let Some(other) = state.leases.iter().find(|l| l.name == request.name) {
        return Err(NetworkError::NameInUse {
            name: request.name.clone(),
            bridge: state.bridge.clone(),
            ip: other.ip.to_string(),
        });
    }
    for port in &request.ports {
        if let Some(other) = state
            .leases
            .iter()
            .find(|l| l.ports.iter().any(|p| p.clashes_with(port)))
        {
            return Err(NetworkError::PortPublished {
                port: port.host_side(),
                owner: other.name.clone(),
            });
        }
        crate::ports::check_host_port_free(port)?;
    }
    Ok(())
}

/// The record of what is about to be made.
fn plan(
    config: &NetworkConfig,
    state: &NetworkState,
    request: &AttachRequest,
    ip: Ipv4Addr,
    host_netns: u64,
) -> Attachment {
    let chains = Chains::for_bridge(&state.bridge);
    let rules = request
        .ports
        .iter()
        .flat_map(|p| chains.port_rules(&state.bridge, &request.name, ip, p))
        .collect();
    let owner = request.owner.or_else(|| match request.netns {
        NetnsRef::Pid(pid) => Owner::of(nix::unistd::Pid::from_raw(pid)),
        NetnsRef::Path(_) => None,
    });
    Attachment {
        name: request.name.clone(),
        bridge: state.bridge.clone(),
        subnet: state.subnet,
        ip,
        gateway: state.gateway,
        host_veth: veth_name(ip),
        container_veth: "eth0".into(),
        netns: request.netns.clone(),
        owner,
        ports: request.ports.clone(),
        rules,
        etc_files: config.etc_files_for(&request.name),
        state_dir: config.state_dir.clone(),
        host_netns,
    }
}

// ANCHOR: plumb_cable
/// The container's side of the network, step by step.
fn plumb(
    nl: &mut Netlink,
    ipt: &Iptables,
    a: &Attachment,
    request: &AttachRequest,
    container_ns: std::os::fd::BorrowedFd<'_>,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    let (host, bridge) = (&a.host_veth, &a.bridge);
    let peer = format!("{host}p");
    let inside = a.netns.nsenter();
    let step = |s: &str| NetworkError::netlink(s.to_string());

    // 1. A veth pair: two devices joined by a virtual cable, both here for now.
    let shown = format!("ip link add {host} type veth peer name {peer}");
    link::create_veth(nl, host, &peer).map_err(step(&shown))?;
    narrator.syscall(
        &shown,
        "a virtual cable: what goes in one end comes out of the other",
    );
    // 2. One end into the container's namespace: it vanishes from the host.
    let shown = format!("ip link set {peer} netns {}", a.netns.ip_netns_arg());
    let peer_index = link::index_existing(nl, &peer).map_err(step(&shown))?;
    link::move_to_netns(nl, peer_index, container_ns).map_err(step(&shown))?;
    narrator.syscall(&shown, "one end into the container's network namespace");
    // ANCHOR_END: plumb_cable
    // ANCHOR: plumb_inside
    // 3. Inside: eth0, its address, up, lo up, the default route.
    let mut ns = Netlink::inside(container_ns).map_err(step(&format!("{inside} (setns)")))?;
    let shown = format!("{inside} ip link set {peer} name eth0");
    let index = link::index_existing(&mut ns, &peer).map_err(step(&shown))?;
    link::rename(&mut ns, index, &a.container_veth).map_err(step(&shown))?;
    narrator.syscall(&shown, "the name every container expects");
    let shown = format!(
        "{inside} ip addr add {}/{} dev eth0 && ip link set eth0 up && ip link set lo up",
        a.ip,
        a.subnet.prefix()
    );
    address::add_address(&mut ns, index, a.ip, &a.subnet).map_err(step(&shown))?;
    link::set_up(&mut ns, index).map_err(step(&shown))?;
    if let Some(lo) = link::index_of(&mut ns, "lo").map_err(step(&shown))? {
        link::set_up(&mut ns, lo).map_err(step(&shown))?;
    }
    narrator.syscall(
        &shown,
        "its address on the bridge's subnet; the kernel adds the route to the subnet",
    );
    let shown = format!("{inside} ip route add default via {}", a.gateway);
    address::add_default_route(&mut ns, a.gateway).map_err(step(&shown))?;
    narrator.syscall(&shown, "everything else goes to the host");
    // ANCHOR_END: plumb_inside
    // ANCHOR: plumb_switch
    // 4. The host's end into the switch.
    let shown = format!("ip link set {host} master {bridge} && ip link set {host} type bridge_slave hairpin on && ip link set {host} up");
    let host_index = link::index_existing(nl, host).map_err(step(&shown))?;
    let bridge_index = link::index_existing(nl, bridge).map_err(step(&shown))?;
    link::set_master(nl, host_index, bridge_index).map_err(step(&shown))?;
    link::set_hairpin(nl, host_index).map_err(step(&shown))?;
    link::set_up(nl, host_index).map_err(step(&shown))?;
    narrator.syscall(
        &shown,
        "the host's end plugged into the switch (hairpin: for the container's own published ports)",
    );
    // 5. Published ports.
    for rule in &a.rules {
        ipt.append(rule)?;
        narrator.detail(&rule.shown("-A"));
    }
    for port in &a.ports {
        narrator.syscall(
            &format!("iptables -t nat -A MBX-PORTS-{bridge} -p {proto} --dport {} -j DNAT --to-destination {}:{}", port.host_port, a.ip, port.container_port, proto = port.protocol.name()),
            &format!("host port {} → {}:{} (+ a FORWARD accept and a hairpin MASQUERADE; -v shows them)", port.host_side(), a.ip, port.container_port),
        );
    }
    // 6. The files the container reads to know itself and find DNS.
    let (resolv, source) = etc_files::resolv_conf(&request.dns);
    let hosts = etc_files::hosts(&request.hostname, a.ip, &request.extra_hosts);
    a.etc_files
        .write(&hosts, &resolv, &format!("{}\n", request.hostname))?;
    narrator.step(&format!(
        "wrote hosts ({} is {}), resolv.conf (from {source}) and hostname in {}",
        request.hostname,
        a.ip,
        a.etc_files.dir.display()
    ));
    Ok(())
}
// ANCHOR_END: plumb_switch

// ANCHOR: detach
/// Removes what [`attach`] set up for this container, and the network
/// itself after the last one. Safe to call twice, and after a crash: what
/// is gone already is skipped.
pub fn detach(attachment: &Attachment, narrator: &Narrator) -> Result<(), NetworkError> {
    let here = crate::netns::current_cookie()?;
    if here != attachment.host_netns {
        return Err(NetworkError::WrongNamespace {
            name: attachment.name.clone(),
            made_in: attachment.host_netns,
            here,
        });
    }
    let ipt = Iptables::find()?;
    let mut nl =
        Netlink::here().map_err(NetworkError::netlink("socket(AF_NETLINK, NETLINK_ROUTE)"))?;
    let lock = state::lock(&attachment.state_dir, &attachment.bridge)?;
    let Some(state) = lock.load()? else {
        // No network any more (reclaimed by another run): only our own pieces.
        remove_pieces(&mut nl, &ipt, attachment, narrator)?;
        return lock.remove();
    };
    if !state.leases.iter().any(|l| l.is_same_lease(attachment)) {
        // Reclaimed already, by a run that found the container gone: its
        // address — and so its veth's name — may be another container's now.
        narrator.detail(&format!(
            "{} of {:?} was reclaimed already: nothing of it is left to remove",
            attachment.ip, attachment.name
        ));
        return Ok(());
    }
    release_locked(&mut nl, &ipt, lock, state, attachment, narrator)
}
// ANCHOR_END: detach

/// Under the lock: remove the container's pieces and its lease; the last
/// one out takes the network with it.
fn release_locked(
    nl: &mut Netlink,
    ipt: &Iptables,
    lock: Locked,
    mut state: NetworkState,
    attachment: &Attachment,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    remove_pieces(nl, ipt, attachment, narrator)?;
    state
        .leases
        .retain(|l| !(l.name == attachment.name && l.ip == attachment.ip));
    narrator.step(&format!(
        "released {} ({:?})",
        attachment.ip, attachment.name
    ));
    if state.leases.is_empty() {
        network::teardown(nl, ipt, &state, narrator)?;
        lock.remove()
    } else {
        lock.save(&state)
    }
}

/// The rules (last added, first removed), the veth (usually gone already:
/// a veth dies with the namespace of either end), the /etc files.
fn remove_pieces(
    nl: &mut Netlink,
    ipt: &Iptables,
    a: &Attachment,
    narrator: &Narrator,
) -> Result<(), NetworkError> {
    let mut removed = 0;
    for rule in a.rules.iter().rev() {
        if ipt.delete(rule)? {
            narrator.detail(&rule.shown("-D"));
            removed += 1;
        }
    }
    if removed > 0 {
        narrator.syscall(
            &format!(
                "iptables -t nat -D MBX-PORTS-{} … ({removed} rules)",
                a.bridge
            ),
            &format!("{:?}'s published ports are closed again", a.name),
        );
    }
    let shown = format!("ip link del {}", a.host_veth);
    if link::delete_named(nl, &a.host_veth).map_err(NetworkError::netlink(&shown))? {
        narrator.syscall(&shown, "the cable, both ends");
    } else {
        narrator.detail(&format!(
            "{} is gone already: a veth dies with its container's namespace",
            a.host_veth
        ));
    }
    a.etc_files.remove();
    Ok(())
}

/// Under the lock: every lease whose container is gone is released.
fn reclaim_locked(
    nl: &mut Netlink,
    ipt: &Iptables,
    state: &mut NetworkState,
    narrator: &Narrator,
) -> Result<Vec<String>, NetworkError> {
    let (stale, live): (Vec<Attachment>, Vec<Attachment>) =
        state.leases.drain(..).partition(Attachment::is_stale);
    state.leases = live;
    let mut names = Vec::new();
    for lease in stale {
        narrator.step(&format!(
            "reclaiming {} of {:?}: its container is gone (a run killed with kill -9?)",
            lease.ip, lease.name
        ));
        remove_pieces(nl, ipt, &lease, narrator)?;
        names.push(lease.name);
    }
    Ok(names)
}

/// Releases the leases of containers that are gone (what `kill -9` of their
/// supervisor left) and, if none is left, the network. For `doctor --clean`;
/// [`attach`] does it too. Returns the names reclaimed.
pub fn reclaim_stale(
    config: &NetworkConfig,
    narrator: &Narrator,
) -> Result<Vec<String>, NetworkError> {
    let lock = state::lock(&config.state_dir, &config.bridge)?;
    let Some(mut state) = lock.load()? else {
        lock.remove()?;
        return Ok(Vec::new());
    };
    let ipt = Iptables::find()?;
    let mut nl =
        Netlink::here().map_err(NetworkError::netlink("socket(AF_NETLINK, NETLINK_ROUTE)"))?;
    let names = reclaim_locked(&mut nl, &ipt, &mut state, narrator)?;
    if state.leases.is_empty() {
        network::teardown(&mut nl, &ipt, &state, narrator)?;
        lock.remove()?;
    } else {
        lock.save(&state)?;
    }
    Ok(names)
}

/// The leases of a network, as they are on disk (for `minibox inspect`/`port`).
pub fn leases(config: &NetworkConfig) -> Result<Vec<Attachment>, NetworkError> {
    let lock = state::lock(&config.state_dir, &config.bridge)?;
    Ok(lock.load()?.map(|s| s.leases).unwrap_or_default())
}

/// Owns an attachment: detaches on drop (narrating, never panicking).
#[derive(Debug)]
pub struct AttachmentGuard {
    attachment: Option<Attachment>,
    narrator: Narrator,
}

impl AttachmentGuard {
    pub fn new(attachment: Attachment, narrator: Narrator) -> AttachmentGuard {
        AttachmentGuard {
            attachment: Some(attachment),
            narrator,
        }
    }

    pub fn attachment(&self) -> Option<&Attachment> {
        self.attachment.as_ref()
    }

    /// Detaches now, with the error if any.
    pub fn detach(mut self) -> Result<(), NetworkError> {
        match self.attachment.take() {
            Some(a) => detach(&a, &self.narrator),
            None => Ok(()),
        }
    }

    /// Gives the record up without detaching (the caller now owns the cleanup).
    pub fn into_inner(mut self) -> Option<Attachment> {
        self.attachment.take()
    }
}

impl Drop for AttachmentGuard {
    fn drop(&mut self) {
        if let Some(a) = self.attachment.take() {
            if let Err(err) = detach(&a, &self.narrator) {
                self.narrator
                    .warn(&format!("removing {:?}'s network: {err}", a.name));
            }
        }
    }
}
