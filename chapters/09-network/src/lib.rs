//! Chapter 09 — networking: veth pairs, a bridge, NAT and published ports.
//!
//! Chapter 02 gave a container a network namespace with nothing in it but
//! a loopback that was down. This library connects it to the world the way
//! docker connects a container to docker0: a bridge on the host with the
//! gateway address, a veth pair from the bridge into the container (eth0),
//! an address leased from the bridge's subnet, a default route, masquerade
//! for outbound traffic, DNAT for published ports (also from localhost and
//! from the container itself), and /etc/hosts, resolv.conf and hostname.
//!
//! It runs in whatever network namespace it is started in: that is "the
//! host". Devices, addresses and routes go through netlink (no `ip`
//! program), firewall rules through `iptables` in chains of our own.
//!
//! An engine (or an OCI runtime, which gets the namespace as a path) uses it
//! in three calls; the record in between is plain JSON it can keep with the
//! container's state and hand to a later process:
//!
//! ```no_run
//! use ch09_network::{attach, detach, AttachRequest, Attachment, NetnsRef, NetworkConfig};
//! # fn main() -> Result<(), ch09_network::NetworkError> {
//! let narrator = ch01_chroot::Narrator::silent();
//! let config = NetworkConfig::new("minibox0", None)?;
//! // Known before the container exists: bind-mount these three files in
//! // config.json (create them empty first; attach rewrites them in place).
//! let etc = config.etc_files_for("web");
//! etc.write("", "", "")?;
//! let request = AttachRequest {
//!     name: "web".into(),
//!     netns: NetnsRef::Pid(4242), // or NetnsRef::Path("/run/netns/web".into())
//!     owner: None,                // for a Pid: that process
//!     hostname: "web".into(),
//!     ports: vec!["8080:80".parse()?],
//!     dns: vec![],
//!     extra_hosts: vec![],
//! };
//! let record: String = attach(&config, &request, &narrator)?.to_json();
//! // … later, perhaps in another process, in the same network namespace:
//! detach(&Attachment::from_json(&record)?, &narrator)?;
//! # Ok(()) }
//! ```

pub mod address;
pub mod attach;
pub mod error;
pub mod etc_files;
pub mod firewall;
pub mod hooks;
pub mod link;
pub mod netlink;
pub mod netns;
pub mod network;
pub mod ports;
pub mod rules;
pub mod state;
pub mod subnet;

pub use attach::{
    attach, detach, leases, reclaim_stale, veth_name, AttachRequest, Attachment, AttachmentGuard,
    NetworkConfig, DEFAULT_BRIDGE,
};
pub use error::NetworkError;
pub use etc_files::EtcFiles;
pub use hooks::ConnectToBridge;
pub use netns::{NetnsRef, Owner};
pub use ports::{PortMapping, Protocol};
pub use subnet::{Subnet, DEFAULT_SUBNET};
