//! A route-netlink socket: how `ip` talks to the kernel, and how we do.
//!
//! `ip link add br0 type bridge` is one RTM_NEWLINK message on an
//! AF_NETLINK socket; the kernel answers with an acknowledgement that
//! carries an errno (0: done). netlink-packet-route gives each message and
//! attribute a Rust type, so the code below reads like the message it sends;
//! netlink-sys gives the socket. Both are blocking: no async runtime.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use std::os::fd::BorrowedFd;

/// A netlink socket bound to one network namespace for its whole life.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink")
            .field("sequence", &self.sequence)
            .finish()
    }
}

fn errno_of(err: std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(libc::EIO))
}

impl Netlink {
    /// A socket in the network namespace of the calling thread.
    pub fn here() -> Result<Netlink, Errno> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(errno_of)?;
        socket.bind_auto().map_err(errno_of)?;
        // Port 0 is the kernel: everything we send goes to it.
        socket.connect(&SocketAddr::new(0, 0)).map_err(errno_of)?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    // ANCHOR: inside
    /// A socket in another network namespace — the container's. A socket
    /// belongs to the namespace it was created in, for good: so a short-lived
    /// thread enters the namespace (setns(2) changes only the calling
    /// thread), creates the socket and ends. We, and every other thread,
    /// never leave the host's namespace.
    pub fn inside(netns: BorrowedFd<'_>) -> Result<Netlink, Errno> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    setns(netns, CloneFlags::CLONE_NEWNET)?;
                    Netlink::here()
                })
                .join()
                .unwrap_or(Err(Errno::EIO))
        })
    }
    // ANCHOR_END: inside

    // ANCHOR: request
    /// Sends one request and waits for the kernel's acknowledgement:
    /// NLMSG_ERROR with error 0 is "done", anything else is an errno.
    pub fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> Result<(), Errno> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        loop {
            for reply in self.receive()? {
                if reply.header.sequence_number != sequence {
                    continue;
                }
                if let NetlinkPayload::Error(error) = reply.payload {
                    return match error.raw_code() {
                        0 => Ok(()),
                        code => Err(Errno::from_raw(-code)),
                    };
                }
            }
        }
    }
    // ANCHOR_END: request

    /// Sends a dump request (`ip link show`, `ip route show`) and collects
    /// every message of the answer until NLMSG_DONE.
    pub fn dump(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, Errno> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut messages = Vec::new();
        loop {
            for reply in self.receive()? {
                if reply.header.sequence_number != sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(messages),
                    NetlinkPayload::Error(error) if error.raw_code() != 0 => {
                        return Err(Errno::from_raw(-error.raw_code()))
                    }
                    NetlinkPayload::InnerMessage(message) => messages.push(message),
                    _ => {}
                }
            }
        }
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> Result<u32, Errno> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        // Fills in the length and the message type (RTM_NEWLINK, …).
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0).map_err(errno_of)?;
        Ok(self.sequence)
    }

    /// One datagram from the kernel: one or more netlink messages.
    fn receive(&mut self) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>, Errno> {
        let (bytes, _) = self.socket.recv_from_full().map_err(errno_of)?;
        let mut messages = Vec::new();
        let mut offset = 0;
        while offset < bytes.len() {
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[offset..])
                .map_err(|_| Errno::EBADMSG)?;
            let length = message.header.length as usize;
            if length == 0 {
                break;
            }
            // Messages are 4-byte aligned within the datagram.
            offset += (length + 3) & !3;
            messages.push(message);
        }
        Ok(messages)
    }
}
