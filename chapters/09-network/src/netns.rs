//! Naming a network namespace: the container's (by PID or by a path such as
//! /run/netns/NAME, as OCI runtimes get it), and the one we run in.

use crate::error::NetworkError;
use nix::fcntl::{open, OFlag};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The container's network namespace, as a later process can name it again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetnsRef {
    /// The namespace of this process (a container's init): /proc/PID/ns/net.
    Pid(i32),
    /// A namespace file: /proc/PID/ns/net, or a bind mount of one (`ip netns add`).
    Path(PathBuf),
}

impl NetnsRef {
    pub fn path(&self) -> PathBuf {
        match self {
            NetnsRef::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            NetnsRef::Path(path) => path.clone(),
        }
    }

    /// An fd of the namespace: what setns(2) and IFLA_NET_NS_FD take.
    pub fn open(&self) -> Result<OwnedFd, NetworkError> {
        let path = self.path();
        open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|errno| NetworkError::Netns { path, errno })
    }

    /// How the narration's shell commands enter it: `nsenter -t 4242 -n` or
    /// `nsenter --net=/run/netns/x`.
    pub fn nsenter(&self) -> String {
        match self {
            NetnsRef::Pid(pid) => format!("nsenter -t {pid} -n"),
            NetnsRef::Path(path) => format!("nsenter --net={}", path.display()),
        }
    }

    /// What `ip link set DEV netns X` takes: a PID, or a name under /run/netns.
    pub fn ip_netns_arg(&self) -> String {
        match self {
            NetnsRef::Pid(pid) => pid.to_string(),
            NetnsRef::Path(path) => match path.strip_prefix("/run/netns") {
                Ok(name) => name.display().to_string(),
                Err(_) => path.display().to_string(),
            },
        }
    }
}

// ANCHOR: cookie
/// The network namespace this thread is in, as a number that no other
/// namespace gets before the next boot: SO_NETNS_COOKIE (Linux 5.14) on any
/// socket. (An inode number of /proc/self/ns/net can come back once the
/// namespace is gone.) Older kernels: the inode, which is unique while it lives.
pub fn current_cookie() -> Result<u64, NetworkError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|errno| NetworkError::Netns {
        path: "socket(AF_INET)".into(),
        errno,
    })?;
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // Safety: cookie is a u64 the kernel fills in; len says how big it is.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        return Ok(cookie);
    }
    let own = Path::new("/proc/thread-self/ns/net");
    nix::sys::stat::stat(own)
        .map(|st| st.st_ino)
        .map_err(|errno| NetworkError::Netns {
            path: own.into(),
            errno,
        })
}
// ANCHOR_END: cookie

/// From <asm-generic/socket.h>.
const SO_NETNS_COOKIE: libc::c_int = 71;

/// The name `ip netns` knows the current namespace by, if any: the trainer's
/// commands then say `ip netns exec NAME …`, as they must to see what we did.
pub fn named_here() -> Option<String> {
    let here = std::fs::metadata("/proc/thread-self/ns/net").ok()?;
    use std::os::unix::fs::MetadataExt;
    for entry in std::fs::read_dir("/run/netns").ok()?.flatten() {
        if let Ok(meta) = entry.metadata() {
            if meta.ino() == here.ino() && meta.dev() == here.dev() {
                return Some(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    None
}

/// The process whose life the lease follows: a PID and when it started
/// (a PID alone can be reused by another process once the first ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    pub pid: i32,
    pub start_time: u64,
}

impl Owner {
    /// `pid` as it is now; `None` if no such process.
    pub fn of(pid: Pid) -> Option<Owner> {
        Some(Owner {
            pid: pid.as_raw(),
            start_time: ch01_chroot::process::start_time(pid)?,
        })
    }

    /// Still the same process, still running (a zombie has ended).
    pub fn is_alive(&self) -> bool {
        let pid = Pid::from_raw(self.pid);
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
            .unwrap_or(true);
        !zombie && ch01_chroot::process::start_time(pid) == Some(self.start_time)
    }
}

/// Whether `path` still is a network namespace (a bind mount of one, for
/// a namespace named by path without an owner process).
pub fn is_netns(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}
