//! The ways chapter 09 can fail, each with what to do about it.

use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("plumbing a container's network needs root (CAP_NET_ADMIN): run it with sudo")]
    NotRoot,

    /// A netlink request the kernel refused; `step` is the `ip` command it stands for.
    #[error("`{step}` failed: {errno} — {hint}")]
    Netlink {
        step: String,
        errno: Errno,
        hint: String,
    },

    /// An `iptables` call that failed; `command` is the whole command line.
    #[error("`{command}` failed: {output}— {hint}")]
    Firewall {
        command: String,
        output: String,
        hint: &'static str,
    },

    #[error("no iptables program found: install it (Debian/Ubuntu: `sudo apt install iptables`; Fedora: `sudo dnf install iptables-nft`)")]
    NoIptables,

    #[error("the subnet {subnet} overlaps the host's route to {route}{}: choose another with --subnet (e.g. 10.88.0.0/16)", via.as_ref().map(|d| format!(" on {d}")).unwrap_or_default())]
    SubnetTaken {
        subnet: String,
        route: String,
        via: Option<String>,
    },

    #[error("every default subnet (172.17–31.0.0/16, 192.168.0–240.0/20) overlaps a route of this host: choose one with --subnet")]
    NoFreeSubnet,

    #[error("the bridge {bridge} already has the subnet {actual}, not {wanted}: drop --subnet, or choose another --bridge")]
    BridgeHasOtherSubnet {
        bridge: String,
        actual: String,
        wanted: String,
    },

    #[error("the subnet {subnet} has no free address left ({leased} leased): stop a container, or use a larger --subnet")]
    SubnetFull { subnet: String, leased: usize },

    #[error("a container named {name:?} is already on {bridge} (at {ip}): choose another --name")]
    NameInUse {
        name: String,
        bridge: String,
        ip: String,
    },

    #[error("host port {port} is already published by the container {owner:?}: choose another host port")]
    PortPublished { port: String, owner: String },

    #[error("host port {port} is in use by a program on this host ({errno}): stop it, or choose another host port")]
    PortInUse { port: String, errno: Errno },

    #[error("{what} {value:?} is not valid: {expected}")]
    Invalid {
        what: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("the attachment of {name:?} was made in another network namespace (cookie {made_in}, this one is {here}): run the teardown where the setup ran")]
    WrongNamespace {
        name: String,
        made_in: u64,
        here: u64,
    },

    #[error("opening the network namespace {path}: {errno} — the container has ended, or the path is not a network namespace")]
    Netns { path: PathBuf, errno: Errno },

    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a network state file minibox can read ({reason}): move it away; the next run rebuilds the network")]
    BadState { path: PathBuf, reason: String },
}

impl NetworkError {
    /// An I/O error on `path`, with what was being done.
    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| NetworkError::Io { what, path, source }
    }

    /// A refused netlink request, named by the `ip` command it stands for.
    pub fn netlink(step: impl Into<String>) -> impl FnOnce(Errno) -> Self {
        let step = step.into();
        move |errno| NetworkError::Netlink {
            hint: netlink_hint(errno).to_string(),
            step,
            errno,
        }
    }

    /// The shell-style exit code (chapter 01's conventions): we failed, 125.
    pub fn exit_code(&self) -> i32 {
        ch01_chroot::process::exit_code::TOOL_FAILED
    }
}

fn netlink_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "this needs CAP_NET_ADMIN in the network namespace: run it as root",
        Errno::EEXIST => "a device or address of that name exists already: an earlier run may have left it (the next run reclaims what dead containers left)",
        Errno::ENODEV => "no such device: it was removed meanwhile",
        Errno::EOPNOTSUPP => "this kernel lacks the device type: load the module (`modprobe veth`, `modprobe bridge`)",
        Errno::ENETUNREACH => "the gateway is not on the container's subnet",
        Errno::ESRCH => "the container has ended",
        _ => "unexpected: rerun with -v to see the steps before it",
    }
}
