//! Network devices: the bridge, the veth pair, and moving one end into the
//! container. Each function is one netlink request; its doc says the `ip`
//! command that sends the same message.

use crate::netlink::Netlink;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const MAX_NAME_LEN: usize = 15;

/// `ip link show NAME`: the device's index, or `None` if there is none.
pub fn index_of(nl: &mut Netlink, name: &str) -> Result<Option<u32>, Errno> {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    // A GETLINK by name without NLM_F_DUMP answers with one RTM_NEWLINK, or ENODEV.
    match nl.dump(RouteNetlinkMessage::GetLink(message)) {
        Ok(links) => Ok(links.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) if has_name(&link, name) => Some(link.header.index),
            _ => None,
        })),
        Err(Errno::ENODEV) => Ok(None),
        Err(errno) => Err(errno),
    }
}

/// The index of a device that must exist (ENODEV if it does not).
pub fn index_existing(nl: &mut Netlink, name: &str) -> Result<u32, Errno> {
    index_of(nl, name)?.ok_or(Errno::ENODEV)
}

fn has_name(link: &LinkMessage, name: &str) -> bool {
    link.attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name))
}

/// The names of every device that is a port of the bridge `master` (`ip link show master BR`).
pub fn ports_of(nl: &mut Netlink, master: u32) -> Result<Vec<String>, Errno> {
    let links = nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(links
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => Some(link),
            _ => None,
        })
        .filter(|link| {
            link.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Controller(m) if *m == master))
        })
        .filter_map(|link| {
            link.attributes.into_iter().find_map(|a| match a {
                LinkAttribute::IfName(name) => Some(name),
                _ => None,
            })
        })
        .collect())
}

// ANCHOR: create_bridge
/// `ip link add NAME type bridge`: a virtual switch. RTM_NEWLINK with
/// IFLA_LINKINFO { IFLA_INFO_KIND = "bridge" }; NLM_F_EXCL makes an
/// existing device of that name an error (EEXIST) instead of a no-op.
pub fn create_bridge(nl: &mut Netlink, name: &str) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    message
        .attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    nl.request(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}
// ANCHOR_END: create_bridge

// ANCHOR: create_veth
/// `ip link add NAME type veth peer name PEER`: a virtual cable, both ends
/// in this namespace for now. The peer is a whole link message nested in
/// the first one's IFLA_INFO_DATA.
pub fn create_veth(nl: &mut Netlink, name: &str, peer: &str) -> Result<(), Errno> {
    let mut peer_message = LinkMessage::default();
    peer_message
        .attributes
        .push(LinkAttribute::IfName(peer.to_string()));
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
    ]));
    nl.request(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}
// ANCHOR_END: create_veth

// ANCHOR: move_to_netns
/// `ip link set NAME netns PID`: the device leaves this namespace for the
/// one `netns` refers to (IFLA_NET_NS_FD). Its addresses and state stay behind.
pub fn move_to_netns(nl: &mut Netlink, index: u32, netns: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message
        .attributes
        .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
    nl.request(RouteNetlinkMessage::SetLink(message), 0)
}
// ANCHOR_END: move_to_netns

/// `ip link set dev X name NEW` (the device must be down).
pub fn rename(nl: &mut Netlink, index: u32, new_name: &str) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message
        .attributes
        .push(LinkAttribute::IfName(new_name.to_string()));
    nl.request(RouteNetlinkMessage::SetLink(message), 0)
}

/// `ip link set dev X up`: IFF_UP in the flags, and in the change mask.
pub fn set_up(nl: &mut Netlink, index: u32) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    nl.request(RouteNetlinkMessage::SetLink(message), 0)
}

// ANCHOR: set_master
/// `ip link set dev X master BRIDGE`: plug the cable into the switch (IFLA_MASTER).
pub fn set_master(nl: &mut Netlink, index: u32, bridge: u32) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.attributes.push(LinkAttribute::Controller(bridge));
    nl.request(RouteNetlinkMessage::SetLink(message), 0)
}

/// `ip link set dev X type bridge_slave hairpin on`: the bridge may send a
/// frame back out of the port it came in on. A container that connects to
/// its own published port needs it: with br_netfilter the DNAT happens on
/// the bridge, and the answer's way back is the port the question came from.
pub fn set_hairpin(nl: &mut Netlink, index: u32) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    // RTM_NEWLINK on an existing device (no NLM_F_CREATE): only that path
    // reaches the bridge's per-port settings; RTM_SETLINK ignores them.
    nl.request(RouteNetlinkMessage::NewLink(message), 0)
}
// ANCHOR_END: set_master

/// `ip link del X`. Deleting one end of a veth pair deletes the other.
pub fn delete(nl: &mut Netlink, index: u32) -> Result<(), Errno> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    nl.request(RouteNetlinkMessage::DelLink(message), 0)
}

/// `ip link del NAME` if it exists; `Ok(false)` if there was none.
pub fn delete_named(nl: &mut Netlink, name: &str) -> Result<bool, Errno> {
    match index_of(nl, name)? {
        Some(index) => match delete(nl, index) {
            Ok(()) => Ok(true),
            // Gone meanwhile (its namespace ended): what we wanted.
            Err(Errno::ENODEV) => Ok(false),
            Err(errno) => Err(errno),
        },
        None => Ok(false),
    }
}
