//! What to run, and how isolated: the description the parent hands to the child.

use crate::error::NamespaceError;
use crate::join::NamespaceKind;
use crate::timens::TimeOffsets;
use std::path::PathBuf;

/// Which of the eight namespaces the container gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// Hostname and NIS domain name (CLONE_NEWUTS, 2006).
    pub uts: bool,
    /// Process IDs: the container's init is PID 1 (CLONE_NEWPID, 2008).
    pub pid: bool,
    /// The mount table (CLONE_NEWNS, 2002 — the first one, hence the odd name).
    pub mount: bool,
    /// Network devices, addresses, routes, ports (CLONE_NEWNET, 2009).
    pub net: bool,
    /// System V IPC objects and POSIX message queues (CLONE_NEWIPC, 2006).
    pub ipc: bool,
    /// User and group IDs, and the capabilities that go with them (CLONE_NEWUSER, 2013).
    pub user: bool,
    /// The view of the cgroup tree (CLONE_NEWCGROUP, 2016).
    pub cgroup: bool,
    /// CLOCK_MONOTONIC and CLOCK_BOOTTIME offsets (CLONE_NEWTIME, 2020).
    pub time: bool,
}

impl Namespaces {
    /// Every namespace Linux has.
    pub fn all() -> Self {
        Namespaces {
            uts: true,
            pid: true,
            mount: true,
            net: true,
            ipc: true,
            user: true,
            cgroup: true,
            time: true,
        }
    }

    /// None at all: the command shares everything with the host.
    pub fn none() -> Self {
        Namespaces::default()
    }

    /// The names of the selected namespaces, as `lsns` prints them.
    pub fn names(&self) -> Vec<&'static str> {
        let all = [
            (self.user, "user"),
            (self.mount, "mnt"),
            (self.uts, "uts"),
            (self.ipc, "ipc"),
            (self.pid, "pid"),
            (self.net, "net"),
            (self.cgroup, "cgroup"),
            (self.time, "time"),
        ];
        all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect()
    }
}

/// One line of `/proc/PID/uid_map` or `gid_map`: `count` IDs starting at
/// `container_id` inside are `host_id`… outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub count: u32,
}

impl IdMapping {
    /// The default mapping: container root is host ID 100000, and 65536 IDs follow
    /// (the range `useradd` gives the first user in /etc/subuid).
    pub const DEFAULT: IdMapping = IdMapping {
        container_id: 0,
        host_id: 100_000,
        count: 65_536,
    };

    /// The line the kernel expects in uid_map / gid_map.
    pub fn to_map_line(&self) -> String {
        format!("{} {} {}\n", self.container_id, self.host_id, self.count)
    }
}

/// Everything the container needs, decided before it starts.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Short id; used in process names and as the default hostname.
    pub name: String,
    /// The directory that becomes "/" (bind-mounted onto itself unless a hook prepares it).
    pub rootfs: PathBuf,
    pub namespaces: Namespaces,
    /// Needs `uts`; default: `name`.
    pub hostname: Option<String>,
    /// The command, looked up in the PATH of `env`, inside the rootfs.
    pub argv: Vec<String>,
    /// The command's whole environment.
    pub env: Vec<(String, String)>,
    /// Working directory inside the container (default "/").
    pub workdir: Option<PathBuf>,
    /// Used when `namespaces.user`.
    pub uid_map: Vec<IdMapping>,
    pub gid_map: Vec<IdMapping>,
    pub readonly_rootfs: bool,
    /// Hold the command, set up completely inside the container, just
    /// before it execs, and call the parent's [`crate::Hooks::command_ready`]
    /// (chapter 02's demo prints its trainer text there); the command goes
    /// on when the hook returns.
    pub hold_before_exec: bool,
    /// True (the default): a small init is PID 1 and runs the command as its
    /// child (reaps orphans, forwards signals). False: the command itself is
    /// PID 1, as an OCI runtime (runc) runs it.
    pub init: bool,
    /// True (the default): chapter 02 mounts /proc, /sys and a small /dev.
    /// False: the caller's `prepare_rootfs` hook mounts what it wants (an OCI
    /// config lists every mount itself).
    pub pseudo_filesystems: bool,
    /// The create/start split (see [`crate::gate`]): a FIFO on the host where
    /// the command, set up completely, waits before execve until someone
    /// opens it for reading. [`crate::spawn`] then returns as soon as the
    /// command waits there instead of once it exec'd.
    pub start_gate: Option<PathBuf>,
    /// Namespaces to enter instead of making new ones, named by a file
    /// (/proc/PID/ns/net, /run/netns/NAME): a pod's shared network, an OCI
    /// config's `linux.namespaces[].path`. [`crate::spawn`] enters them with
    /// setns(2) in the *calling* process, before the clone, so the container
    /// is born in them — and the caller stays in them: spawn from a process
    /// made for this one container (as a runtime's `create` is).
    pub join: Vec<(NamespaceKind, PathBuf)>,
    /// A new time namespace with these clock offsets, made by the calling
    /// process before the clone, so that even a command that is PID 1 itself
    /// (`init: false`) is born in it. Takes the place of `namespaces.time`,
    /// whose clocks start at zero.
    pub time_offsets: Option<TimeOffsets>,
    /// How error messages name the root filesystem (default: its path).
    /// Chapter 04 names its layers: by the time a learner reads the message,
    /// the overlay's mount point is gone.
    pub rootfs_description: Option<String>,
}

impl ContainerSpec {
    /// A spec with sensible defaults: no namespaces selected, hostname = name,
    /// a minimal environment, cwd "/", container root mapped to host 100000.
    pub fn new(name: &str, rootfs: impl Into<PathBuf>, argv: Vec<String>) -> Self {
        ContainerSpec {
            name: name.to_string(),
            rootfs: rootfs.into(),
            namespaces: Namespaces::none(),
            hostname: None,
            argv,
            env: vec![
                (
                    "PATH".into(),
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                ),
                ("HOME".into(), "/root".into()),
                (
                    "TERM".into(),
                    std::env::var("TERM").unwrap_or_else(|_| "xterm".into()),
                ),
                ("HOSTNAME".into(), name.to_string()),
            ],
            workdir: None,
            uid_map: vec![IdMapping::DEFAULT],
            gid_map: vec![IdMapping::DEFAULT],
            readonly_rootfs: false,
            hold_before_exec: false,
            init: true,
            pseudo_filesystems: true,
            start_gate: None,
            join: Vec::new(),
            time_offsets: None,
            rootfs_description: None,
        }
    }

    /// The hostname the container gets when it has a UTS namespace.
    pub fn effective_hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or(&self.name)
    }
}

/// The longest hostname the kernel keeps (`__NEW_UTS_LEN`), and our longest name.
pub const MAX_NAME_LEN: usize = 64;

// ANCHOR: validate_names
/// A container name: 1–64 of letters, digits, `_`, `-`, `.`, starting with a
/// letter or digit (docker's rule). It becomes a process title, the default
/// hostname and a cgroup directory, so no `/`, no spaces, no newline or
/// terminal escape that would garble a log or a `ps` listing.
pub fn validate_name(name: &str) -> Result<(), NamespaceError> {
    check_name(
        "container name",
        name,
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)",
    )
}

/// A hostname: 1–64 of letters, digits, `-`, `.` (RFC 1123) and `_` (which
/// the default, the container name, may hold), starting with a letter or
/// digit. sethostname(2) itself only checks the length.
pub fn validate_hostname(hostname: &str) -> Result<(), NamespaceError> {
    check_name(
        "hostname",
        hostname,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'),
        "use 1 to 64 letters, digits, '-', '.' and '_', starting with a letter or digit (e.g. web-1.local)",
    )
}
// ANCHOR_END: validate_names

fn check_name(
    what: &'static str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<(), NamespaceError> {
    let invalid = |problem: String| NamespaceError::InvalidName {
        what,
        value: value.to_string(),
        problem,
        expected,
    };
    if value.is_empty() {
        return Err(invalid("is empty".into()));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "is {} bytes long, more than the {MAX_NAME_LEN} the kernel keeps",
            value.len()
        )));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(invalid(format!("contains {bad:?}")));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("does not start with a letter or digit".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hostnames_are_checked_with_a_clear_message() {
        assert!(validate_name("web-1_a.b").is_ok());
        assert!(validate_hostname("web-1.local").is_ok());
        let long = "a".repeat(65);
        for (value, message) in [
            ("", "the container name \"\" is empty: use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)"),
            (long.as_str(), "the container name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is 65 bytes long, more than the 64 the kernel keeps: use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)"),
            ("a\nb", "the container name \"a\\nb\" contains '\\n': use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)"),
            ("\u{1b}[31mred", "the container name \"\\u{1b}[31mred\" contains '\\u{1b}': use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)"),
            ("-x", "the container name \"-x\" does not start with a letter or digit: use 1 to 64 letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. web-1)"),
        ] {
            assert_eq!(validate_name(value).map_err(|e| e.to_string()), Err(message.to_string()));
        }
        assert_eq!(
            validate_hostname("a b").map_err(|e| e.to_string()),
            Err("the hostname \"a b\" contains ' ': use 1 to 64 letters, digits, '-', '.' and '_', starting with a letter or digit (e.g. web-1.local)".to_string())
        );
    }
}
