//! Published ports: `-p [IP:]HOSTPORT:CTRPORT[/tcp|udp]`, as docker writes them.

use crate::error::NetworkError;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One published port: connections to the host's `host_port` (on
/// `host_ip`, or on any of its addresses) go to the container's `container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// `8080/tcp` or `127.0.0.1:8080/tcp`: the host side, as messages name it.
    pub fn host_side(&self) -> String {
        match self.host_ip {
            Some(ip) => format!("{ip}:{}/{}", self.host_port, self.protocol.name()),
            None => format!("{}/{}", self.host_port, self.protocol.name()),
        }
    }

    /// Whether two mappings claim the same host port (an address of
    /// "any" clashes with every address).
    pub fn clashes_with(&self, other: &PortMapping) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && match (self.host_ip, other.host_ip) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl std::fmt::Display for PortMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port,
            self.container_port,
            self.protocol.name()
        )
    }
}

impl std::str::FromStr for PortMapping {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<PortMapping, NetworkError> {
        let invalid = || {
            NetworkError::Invalid {
            what: "published port",
            value: text.to_string(),
            expected: "[IP:]HOSTPORT:CONTAINERPORT[/tcp|udp], ports 1-65535 (e.g. 8080:80 or 127.0.0.1:5353:53/udp)",
        }
        };
        let (ports, protocol) = match text.rsplit_once('/') {
            Some((ports, "tcp")) => (ports, Protocol::Tcp),
            Some((ports, "udp")) => (ports, Protocol::Udp),
            Some(_) => return Err(invalid()),
            None => (text, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (host_ip, host_port, container_port) = match parts.as_slice() {
            [host, container] => (None, *host, *container),
            [ip, host, container] => (Some(ip.parse().map_err(|_| invalid())?), *host, *container),
            _ => return Err(invalid()),
        };
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(invalid)
        };
        Ok(PortMapping {
            host_ip,
            host_port: port(host_port)?,
            container_port: port(container_port)?,
            protocol,
        })
    }
}

// ANCHOR: port_free
/// Refuses a host port that a program on the host is bound to: DNAT would
/// silently steal its connections. (docker finds out the same way: its
/// docker-proxy fails to bind.) We bind for a moment and let go.
pub fn check_host_port_free(port: &PortMapping) -> Result<(), NetworkError> {
    use nix::sys::socket::{bind, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let kind = match port.protocol {
        Protocol::Tcp => SockType::Stream,
        Protocol::Udp => SockType::Datagram,
    };
    let in_use = |errno| NetworkError::PortInUse {
        port: port.host_side(),
        errno,
    };
    let sock = socket(AddressFamily::Inet, kind, SockFlag::SOCK_CLOEXEC, None).map_err(in_use)?;
    let ip = port.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let [a, b, c, d] = ip.octets();
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&sock),
        &SockaddrIn::new(a, b, c, d, port.host_port),
    )
    .map_err(in_use)
}
// ANCHOR_END: port_free

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ports_parse_like_dockers() -> Result<(), NetworkError> {
        let p: PortMapping = "8080:80".parse()?;
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.protocol),
            (None, 8080, 80, Protocol::Tcp)
        );
        let p: PortMapping = "127.0.0.1:5353:53/udp".parse()?;
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.protocol, Protocol::Udp);
        assert_eq!(p.to_string(), "127.0.0.1:5353:53/udp");
        for bad in ["80", "0:80", "8080:80/sctp", "x:80", "1:2:3:4", "70000:80"] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
        let any: PortMapping = "8080:80".parse()?;
        let local: PortMapping = "127.0.0.1:8080:81".parse()?;
        assert!(any.clashes_with(&local));
        assert!(!any.clashes_with(&"8080:80/udp".parse()?));
        Ok(())
    }
}
