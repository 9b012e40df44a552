//! Addresses and routes: `ip addr add`, `ip route add`, `ip route show`.

use crate::netlink::Netlink;
use crate::subnet::Subnet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;
use std::net::{IpAddr, Ipv4Addr};

// ANCHOR: add_address
/// `ip addr add IP/PREFIX brd + dev X`. The kernel adds the routes that go
/// with it: a local route for IP, and (once the device is up) a route to
/// the whole subnet through X.
pub fn add_address(
    nl: &mut Netlink,
    index: u32,
    ip: Ipv4Addr,
    subnet: &Subnet,
) -> Result<(), Errno> {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = subnet.prefix();
    message.header.index = index;
    message
        .attributes
        .push(AddressAttribute::Local(IpAddr::V4(ip)));
    message
        .attributes
        .push(AddressAttribute::Address(IpAddr::V4(ip)));
    message
        .attributes
        .push(AddressAttribute::Broadcast(subnet.broadcast()));
    match nl.request(
        RouteNetlinkMessage::NewAddress(message),
        NLM_F_CREATE | NLM_F_EXCL,
    ) {
        // Already there (a bridge we adopted): what we wanted.
        Err(Errno::EEXIST) => Ok(()),
        other => other,
    }
}
// ANCHOR_END: add_address

/// The IPv4 addresses of device `index`, as subnets (`ip -4 addr show dev X`).
pub fn ipv4_addresses(nl: &mut Netlink, index: u32) -> Result<Vec<(Ipv4Addr, Subnet)>, Errno> {
    let mut request = AddressMessage::default();
    request.header.family = AddressFamily::Inet;
    let replies = nl.dump(RouteNetlinkMessage::GetAddress(request))?;
    let mut found = Vec::new();
    for reply in replies {
        let RouteNetlinkMessage::NewAddress(address) = reply else {
            continue;
        };
        if address.header.index != index {
            continue;
        }
        for attribute in &address.attributes {
            if let AddressAttribute::Local(IpAddr::V4(ip)) = attribute {
                if let Ok(subnet) = Subnet::new(*ip, address.header.prefix_len) {
                    found.push((*ip, subnet));
                }
            }
        }
    }
    Ok(found)
}

// ANCHOR: default_route
/// `ip route add default via GATEWAY`: everything not on the subnet goes to
/// the bridge's address, i.e. to the host, which forwards it.
pub fn add_default_route(nl: &mut Netlink, gateway: Ipv4Addr) -> Result<(), Errno> {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet;
    message.header.destination_prefix_length = 0;
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    nl.request(
        RouteNetlinkMessage::NewRoute(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}
// ANCHOR_END: default_route

/// One route of the host's main table: where to, and through which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub destination: Subnet,
    pub device: Option<u32>,
}

/// `ip -4 route show table main`, without the default route (0.0.0.0/0
/// overlaps everything and says nothing about which subnets are in use).
pub fn ipv4_routes(nl: &mut Netlink) -> Result<Vec<HostRoute>, Errno> {
    let mut request = RouteMessage::default();
    request.header.address_family = AddressFamily::Inet;
    let replies = nl.dump(RouteNetlinkMessage::GetRoute(request))?;
    let mut routes = Vec::new();
    for reply in replies {
        let RouteNetlinkMessage::NewRoute(route) = reply else {
            continue;
        };
        let prefix = route.header.destination_prefix_length;
        if route.header.table != RouteHeader::RT_TABLE_MAIN || prefix == 0 {
            continue;
        }
        let mut destination = None;
        let mut device = None;
        for attribute in &route.attributes {
            match attribute {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => destination = Some(*ip),
                RouteAttribute::Oif(index) => device = Some(*index),
                _ => {}
            }
        }
        if let Some(ip) = destination {
            let destination = Subnet::of_route(ip, prefix);
            routes.push(HostRoute {
                destination,
                device,
            });
        }
    }
    Ok(routes)
}
