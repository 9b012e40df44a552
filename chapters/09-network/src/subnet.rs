//! IPv4 subnets: `172.17.0.0/16`, its gateway, its hosts, and overlaps.

use crate::error::NetworkError;
use std::net::Ipv4Addr;

/// An IPv4 network: an address with the host bits zero, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet {
    network: Ipv4Addr,
    prefix: u8,
}

/// Docker's default bridge network, and ours.
pub const DEFAULT_SUBNET: Subnet = Subnet {
    network: Ipv4Addr::new(172, 17, 0, 0),
    prefix: 16,
};

impl Subnet {
    /// `address/prefix`; the address is masked to its network (`172.17.5.1/16` → `172.17.0.0/16`).
    pub fn new(address: Ipv4Addr, prefix: u8) -> Result<Subnet, NetworkError> {
        if !(8..=30).contains(&prefix) {
            return Err(NetworkError::Invalid {
                what: "subnet prefix",
                value: prefix.to_string(),
                expected: "between /8 and /30 (a /30 holds a gateway and one container)",
            });
        }
        Ok(Subnet {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix)),
            prefix,
        })
    }

    /// Any prefix from 1 to 32, unchecked: a route of the host (`10.0.0.0/8`, a `/32` peer).
    pub(crate) fn of_route(address: Ipv4Addr, prefix: u8) -> Subnet {
        let prefix = prefix.clamp(1, 32);
        Subnet {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix)),
            prefix,
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first host address: the bridge's, the containers' default route.
    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// The `n`th address of the subnet (0 is the network itself).
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + n)
    }

    /// How many addresses there are, network and broadcast included.
    pub fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        self.host(self.size() - 1)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.network)
    }

    /// Whether any address is in both: one contains the other's network.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// The subnets tried, in order, when none is given: docker's default
    /// address pools (172.17–31.0.0/16, then 192.168.0–240.0/20).
    pub fn default_candidates() -> impl Iterator<Item = Subnet> {
        let sixteens = (17..=31u8).map(|b| Subnet {
            network: Ipv4Addr::new(172, b, 0, 0),
            prefix: 16,
        });
        let twenties = (0..16u8).map(|i| Subnet {
            network: Ipv4Addr::new(192, 168, i * 16, 0),
            prefix: 20,
        });
        sixteens.chain(twenties)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl std::str::FromStr for Subnet {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Subnet, NetworkError> {
        let invalid = || NetworkError::Invalid {
            what: "subnet",
            value: text.to_string(),
            expected: "an IPv4 network in CIDR form, e.g. 172.18.0.0/16",
        };
        let (address, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let address: Ipv4Addr = address.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        let subnet = Subnet::new(address, prefix)?;
        if subnet.network != address {
            return Err(NetworkError::Invalid {
                what: "subnet",
                value: text.to_string(),
                expected: "the network address, with the host bits zero (e.g. 172.18.0.0/16)",
            });
        }
        Ok(subnet)
    }
}

impl TryFrom<String> for Subnet {
    type Error = NetworkError;
    fn try_from(text: String) -> Result<Subnet, NetworkError> {
        text.parse()
    }
}

impl From<Subnet> for String {
    fn from(subnet: Subnet) -> String {
        subnet.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_overlap() -> Result<(), NetworkError> {
        let s: Subnet = "172.17.0.0/16".parse()?;
        assert_eq!(s.gateway(), Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(172, 17, 255, 255));
        assert!(s.contains(Ipv4Addr::new(172, 17, 3, 4)));
        assert!(!s.contains(Ipv4Addr::new(172, 18, 0, 1)));
        let wide: Subnet = "172.16.0.0/12".parse()?;
        assert!(s.overlaps(&wide) && wide.overlaps(&s));
        assert!(!s.overlaps(&"172.18.0.0/16".parse()?));
        assert!("172.17.0.1/16".parse::<Subnet>().is_err());
        assert!("10.0.0.0/31".parse::<Subnet>().is_err());
        assert!("nonsense".parse::<Subnet>().is_err());
        assert_eq!(Subnet::default_candidates().next(), Some(DEFAULT_SUBNET));
        assert_eq!(Subnet::default_candidates().count(), 31);
        Ok(())
    }
}
