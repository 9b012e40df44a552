//! The security flags, shared by every binary that runs containers
//! (chapter 07's demo, and later the engine) — docker's names.

use crate::restrictions::SeccompChoice;

/// `--cap-add --cap-drop --seccomp --no-new-privileges --user --group-add
/// --ulimit --privileged`, flattened into a binary's clap arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SecurityFlags {
    /// Drop a capability from docker's default set (NAME, CAP_NAME, or ALL).
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Add a capability (NAME, CAP_NAME, or ALL).
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// The seccomp profile: default, unconfined, or an OCI linux.seccomp JSON file.
    #[arg(long, value_name = "PROFILE", default_value = "default")]
    pub seccomp: SeccompChoice,
    /// prctl(PR_SET_NO_NEW_PRIVS): setuid binaries gain nothing.
    #[arg(long)]
    pub no_new_privileges: bool,
    /// Run as UID[:GID] or NAME[:GROUP], looked up in the rootfs's /etc/passwd and /etc/group.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// An extra supplementary group (GID or name).
    #[arg(long, value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// A resource limit, NAME=SOFT[:HARD] (e.g. nofile=1024:1024).
    #[arg(long, value_name = "LIMIT")]
    pub ulimit: Vec<String>,
    /// docker's --privileged: all capabilities, no seccomp, no masks, the host's devices.
    #[arg(long)]
    pub privileged: bool,
}
