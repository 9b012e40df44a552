//! `--network bridge|none|host`, `-p`, `--dns`, `--add-host`: chapter 09
//! wired into the engine, where containerd and CNI wire it.
//!
//! The runtime's `create` makes the container's network namespace (and
//! its init, stopped before the user's command); the shim then [`attach`]es
//! it to the bridge — veth, address, routes, the published ports' rules —
//! and keeps chapter 09's record in the container's state. Only then does
//! `start` let the command run: a server listening at once is reachable at
//! once. The record is all a later process needs to [`detach`]: the shim
//! when the container ends, or `rm`/reconcile when the shim was killed.

use super::error::{EngineError, Result};
use super::record::{HostConfig, Record, State};
use ch01_chroot::Narrator;
use ch09_network::{AttachRequest, Attachment, NetnsRef, NetworkConfig, PortMapping};
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::path::Path;

/// docker's network names, and ours for the bridge's device (docker0's).
pub const BRIDGE: &str = "bridge";
pub const NONE: &str = "none";
pub const HOST: &str = "host";

impl From<ch09_network::NetworkError> for EngineError {
    fn from(err: ch09_network::NetworkError) -> EngineError {
        EngineError::Runtime(format!("connecting the container to its network: {err}"))
    }
}

// ANCHOR: check
/// Checks the network flags before anything is created (bad input changes
/// nothing). Fills the mode, ports, DNS servers and extra hosts of `host`.
pub fn check(
    host: &mut HostConfig,
    network: Option<&str>,
    publish: &[String],
    dns: &[String],
    add_hosts: &[String],
) -> Result<()> {
    let mode = network.unwrap_or(BRIDGE);
    if !matches!(mode, BRIDGE | NONE | HOST) {
        return Err(EngineError::Invalid(format!(
            "--network {mode:?}: give bridge (the default), none (loopback only) or host"
        )));
    }
    if mode != BRIDGE && !publish.is_empty() {
        return Err(EngineError::Invalid(format!(
            "-p needs --network bridge (with --network {mode} there is no container address to forward to)"
        )));
    }
    for port in publish {
        port.parse::<PortMapping>()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
    }
    for server in dns {
        server.parse::<Ipv4Addr>().map_err(|_| {
            EngineError::Invalid(format!(
                "--dns {server:?}: give an IPv4 address, e.g. 192.0.2.53"
            ))
        })?;
    }
    for entry in add_hosts {
        parse_add_host(entry)?;
    }
    host.network_mode = mode.to_string();
    host.port_bindings = publish.to_vec();
    host.dns = dns.to_vec();
    host.extra_hosts = add_hosts.to_vec();
    Ok(())
}
// ANCHOR_END: check

/// `--add-host NAME:IP` (docker also takes NAME=IP).
fn parse_add_host(entry: &str) -> Result<(String, Ipv4Addr)> {
    let parsed = entry
        .split_once([':', '='])
        .and_then(|(name, ip)| Some((name, ip.parse::<Ipv4Addr>().ok()?)))
        .filter(|(name, _)| !name.is_empty() && !name.contains(char::is_whitespace));
    parsed
        .map(|(name, ip)| (name.to_string(), ip))
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "--add-host {entry:?}: give NAME:IPv4, e.g. db:192.0.2.10"
            ))
        })
}

fn ports(host: &HostConfig) -> Vec<PortMapping> {
    host.port_bindings
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn dns(host: &HostConfig) -> Vec<Ipv4Addr> {
    host.dns.iter().filter_map(|d| d.parse().ok()).collect()
}

fn extra_hosts(host: &HostConfig) -> Vec<(String, Ipv4Addr)> {
    host.extra_hosts
        .iter()
        .filter_map(|h| parse_add_host(h).ok())
        .collect()
}

/// The default network, in the namespace this process runs in.
fn config() -> Result<NetworkConfig> {
    Ok(NetworkConfig::new(ch09_network::DEFAULT_BRIDGE, None)?)
}

/// Before create, every mode: `--dns` and `--add-host` into the files
/// the bundle bind-mounts (bridge mode rewrites hosts once it has an address).
pub fn write_etc(dir: &Path, record: &Record) -> Result<()> {
    let host = &record.host_config;
    if host.network_mode == HOST && host.dns.is_empty() && host.extra_hosts.is_empty() {
        return Ok(()); // the host's own files, as docker does
    }
    let path = dir.join("resolv.conf");
    let (resolv, _) = ch09_network::etc_files::resolv_conf(&dns(host));
    std::fs::write(&path, resolv).map_err(EngineError::io("writing", &path))?;
    let path = dir.join("hosts");
    let mut hosts = std::fs::read_to_string(&path).unwrap_or_default();
    for (name, ip) in extra_hosts(host) {
        hosts.push_str(&format!("{ip}\t{name}\n"));
    }
    std::fs::write(&path, hosts).map_err(EngineError::io("writing", &path))
}

// ANCHOR: attach
/// After the runtime's create, before start: the container's namespace
/// (that of its init, `pid`) joined to the bridge. `None` for none/host.
pub fn attach(record: &Record, pid: i32, etc_dir: &Path) -> Result<Option<Attachment>> {
    let host = &record.host_config;
    if host.network_mode != BRIDGE {
        return Ok(None);
    }
    let request = AttachRequest {
        name: record.name.clone(),
        netns: NetnsRef::Pid(pid),
        owner: None, // the init: when it is gone, so is the lease
        hostname: record.config.hostname.clone(),
        ports: ports(host),
        dns: dns(host),
        extra_hosts: extra_hosts(host),
    };
    let attachment = ch09_network::attach(&config()?, &request, &Narrator::silent())?;
    // The bundle bind-mounted our files at create: rewrite them in place
    // (same inode) with chapter 09's, which know the container's address.
    for name in ["hosts", "resolv.conf"] {
        let (from, to) = (attachment.etc_files.path(name), etc_dir.join(name));
        let copied = std::fs::read_to_string(&from)
            .and_then(|text| std::fs::write(&to, text))
            .map_err(EngineError::io("writing", &to));
        if let Err(err) = copied {
            let _ = ch09_network::detach(&attachment, &Narrator::silent());
            return Err(err);
        }
    }
    Ok(Some(attachment))
}
// ANCHOR_END: attach

// ANCHOR: detach
/// Removes what [`attach`] made (idempotent), then whatever dead
/// containers left on the bridge (a shim killed between attach and
/// saving the record). Errors are warnings: cleanup goes on.
pub fn detach(record: &Record, state: &State, narrator: &Narrator) {
    if let Some(attachment) = &state.network {
        if let Err(err) = ch09_network::detach(attachment, narrator) {
            narrator.warn(&format!("removing {:?}'s network: {err}", record.name));
        }
    }
    if record.host_config.network_mode == BRIDGE {
        if let Err(err) = config().and_then(|c| Ok(ch09_network::reclaim_stale(&c, narrator)?)) {
            narrator.warn(&format!("reclaiming stale leases: {err}"));
        }
    }
}
// ANCHOR_END: detach

/// For `doctor --clean`: leases of containers that are gone, in this namespace.
pub fn reclaim_stale() -> Result<Vec<String>> {
    Ok(ch09_network::reclaim_stale(
        &config()?,
        &Narrator::silent(),
    )?)
}

/// `80/tcp` → `[{"HostIp": "0.0.0.0", "HostPort": "8080"}]`, docker's shape.
fn port_map(mappings: &[PortMapping], host_ip_default: &str) -> Value {
    let mut map = serde_json::Map::new();
    for p in mappings {
        let key = format!("{}/{}", p.container_port, p.protocol.name());
        let binding = json!({
            "HostIp": p.host_ip.map_or(host_ip_default.to_string(), |ip| ip.to_string()),
            "HostPort": p.host_port.to_string(),
        });
        if let Some(Value::Array(list)) = map.get_mut(&key) {
            list.push(binding);
        } else {
            map.insert(key, json!([binding]));
        }
    }
    Value::Object(map)
}

/// HostConfig.PortBindings: what was asked (docker leaves HostIp "" for any).
pub fn port_bindings(host: &HostConfig) -> Value {
    port_map(&ports(host), "")
}

// ANCHOR: settings
/// docker's `NetworkSettings`: the address and ports while it runs.
pub fn settings(record: &Record, state: &State) -> Value {
    let a = state.network.as_ref();
    let ip = a.map(|a| a.ip.to_string()).unwrap_or_default();
    let gateway = a.map(|a| a.gateway.to_string()).unwrap_or_default();
    let prefix = a.map_or(0, |a| a.subnet.prefix());
    let ports = a.map_or(json!({}), |a| port_map(&a.ports, "0.0.0.0"));
    let endpoint = json!({
        "IPAddress": ip, "Gateway": gateway, "IPPrefixLen": prefix,
        "NetworkID": a.map(|a| a.bridge.clone()).unwrap_or_default(),
    });
    json!({
        "Bridge": a.map(|a| a.bridge.clone()).unwrap_or_default(),
        "SandboxKey": if state.pid > 0 { format!("/proc/{}/ns/net", state.pid) } else { String::new() },
        "Ports": ports,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "Gateway": gateway,
        "HostVeth": a.map(|a| a.host_veth.clone()).unwrap_or_default(),
        "Networks": { record.host_config.network_mode.clone(): endpoint },
    })
}
// ANCHOR_END: settings

/// `ps`'s PORTS column: `0.0.0.0:8080->80/tcp`, as docker's.
pub fn ps_ports(state: &State) -> String {
    let mappings = state
        .network
        .as_ref()
        .map(|a| a.ports.clone())
        .unwrap_or_default();
    mappings
        .iter()
        .map(|p| {
            let ip = p.host_ip.map_or("0.0.0.0".to_string(), |ip| ip.to_string());
            format!(
                "{ip}:{}->{}/{}",
                p.host_port,
                p.container_port,
                p.protocol.name()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `minibox port C [PORT[/PROTO]]`: docker's lines, `80/tcp -> 0.0.0.0:8080`.
pub fn port_lines(state: &State, filter: Option<&str>) -> Result<Vec<String>> {
    let mappings = state
        .network
        .as_ref()
        .map(|a| a.ports.clone())
        .unwrap_or_default();
    let filter = filter.map(|f| {
        if f.contains('/') {
            f.to_string()
        } else {
            format!("{f}/tcp")
        }
    });
    let lines: Vec<String> = mappings
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p.container_port, p.protocol.name()),
                format!(
                    "{}:{}",
                    p.host_ip.map_or("0.0.0.0".to_string(), |ip| ip.to_string()),
                    p.host_port
                ),
            )
        })
        .filter(|(key, _)| filter.as_ref().map_or(true, |f| f == key))
        .map(|(key, host)| match filter {
            Some(_) => host,
            None => format!("{key} -> {host}"),
        })
        .collect();
    if let (Some(f), true) = (&filter, lines.is_empty()) {
        return Err(EngineError::NotFound(format!(
            "no public port '{f}' published for the container"
        )));
    }
    Ok(lines)
}

/// Trainer mode (`run --pause`): where to look at the container's network.
pub fn host_commands(state: &State, init: i32) -> Vec<(String, String)> {
    let Some(a) = &state.network else {
        return Vec::new();
    };
    vec![
        (
            format!("nsenter -t {init} -n ip addr show eth0"),
            format!("inside: eth0 with {}/{}", a.ip, a.subnet.prefix()),
        ),
        (
            format!("ip link show master {}", a.bridge),
            format!(
                "{}: the host's end of the veth, a port of the bridge",
                a.host_veth
            ),
        ),
        (
            format!("iptables -t nat -S MBX-PORTS-{}", a.bridge),
            "the published ports' DNAT rules".to_string(),
        ),
    ]
}
