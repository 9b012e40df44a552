//! config.json's `process`: who the program runs as, with what limits, on
//! which terminal. Applied in the container's process, after pivot_root,
//! just before the program is exec'd.

use crate::error::RuntimeError;
use nix::errno::Errno;
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::{Gid, Uid};
use std::os::fd::RawFd;

/// The identity and limits of the process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSetup {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<(Resource, u64, u64)>,
    pub oom_score_adj: Option<i32>,
    /// A pty to open inside the container and send to the engine; its slave
    /// becomes stdio and the controlling terminal.
    pub terminal: Option<crate::terminal::TerminalRequest>,
    /// setgroups(2) is denied in a user namespace whose setgroups file says deny.
    pub may_setgroups: bool,
}

/// RLIMIT_* names → nix's resources.
fn resource(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_AS" => Resource::RLIMIT_AS,
        "RLIMIT_CORE" => Resource::RLIMIT_CORE,
        "RLIMIT_CPU" => Resource::RLIMIT_CPU,
        "RLIMIT_DATA" => Resource::RLIMIT_DATA,
        "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => Resource::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => Resource::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => Resource::RLIMIT_NICE,
        "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
        "RLIMIT_RSS" => Resource::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => Resource::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => Resource::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => Resource::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

impl ProcessSetup {
    /// From `process.user`, `process.rlimits`, `process.oomScoreAdj`.
    pub fn from_process(process: &oci_spec::runtime::Process) -> Result<Self, RuntimeError> {
        let user = process.user();
        let mut rlimits = Vec::new();
        for (i, limit) in process.rlimits().iter().flatten().enumerate() {
            let name = limit.typ().to_string();
            let res = resource(&name).ok_or_else(|| {
                RuntimeError::unsupported(
                    format!("process.rlimits[{i}]"),
                    format!("unknown rlimit {name}"),
                )
            })?;
            if limit.soft() > limit.hard() {
                return Err(RuntimeError::invalid(
                    format!("process.rlimits[{i}] ({name})"),
                    format!("soft {} is above hard {}", limit.soft(), limit.hard()),
                ));
            }
            rlimits.push((res, limit.soft(), limit.hard()));
        }
        Ok(ProcessSetup {
            uid: user.uid(),
            gid: user.gid(),
            additional_gids: user.additional_gids().clone().unwrap_or_default(),
            umask: user.umask(),
            rlimits,
            oom_score_adj: process.oom_score_adj(),
            terminal: None,
            may_setgroups: true,
        })
    }

    // ANCHOR: apply_process
    /// In the container's process, still root: limits, then identity. The
    /// capabilities to keep across the uid change are the caller's business
    /// (PR_SET_KEEPCAPS, see [`crate::restrict`]). Returns (step, errno).
    pub fn apply(&self) -> Result<(), (String, Errno)> {
        if let Some(request) = &self.terminal {
            let slave = crate::terminal::open_and_send(request)?;
            become_terminal(slave)?;
        }
        if let Some(adj) = self.oom_score_adj {
            std::fs::write("/proc/self/oom_score_adj", adj.to_string())
                .map_err(|e| ("writing /proc/self/oom_score_adj".into(), io_errno(&e)))?;
        }
        for (res, soft, hard) in &self.rlimits {
            // Raising a hard limit needs CAP_SYS_RESOURCE, which a host may lack.
            setrlimit(*res, *soft, *hard)
                .map_err(|e| (format!("setrlimit({res:?}, {soft}, {hard})"), e))?;
        }
        if let Some(umask) = self.umask {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
        }
        let groups: Vec<Gid> = self
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        if self.may_setgroups {
            // Supplementary groups first: setgroups needs CAP_SETGID, which setuid may take away.
            nix::unistd::setgroups(&groups).map_err(|e| ("setgroups".to_string(), e))?;
        } else if !groups.is_empty() {
            return Err((
                "setgroups (denied in this user namespace)".into(),
                Errno::EPERM,
            ));
        }
        let gid = Gid::from_raw(self.gid);
        nix::unistd::setresgid(gid, gid, gid)
            .map_err(|e| (format!("setresgid({})", self.gid), e))?;
        let uid = Uid::from_raw(self.uid);
        nix::unistd::setresuid(uid, uid, uid)
            .map_err(|e| (format!("setresuid({})", self.uid), e))?;
        Ok(())
    }
    // ANCHOR_END: apply_process
}

// ANCHOR: become_terminal
/// The pty slave becomes our stdin, stdout, stderr and controlling terminal:
/// a new session (setsid), then TIOCSCTTY claims the terminal for it.
fn become_terminal(slave: RawFd) -> Result<(), (String, Errno)> {
    nix::unistd::setsid().map_err(|e| ("setsid".to_string(), e))?;
    // Safety: an ioctl on an fd we hold, with an integer argument.
    Errno::result(unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) })
        .map_err(|e| ("ioctl(TIOCSCTTY)".to_string(), e))?;
    for target in 0..3 {
        // Safety: dup2 of a valid fd onto 0, 1, 2.
        Errno::result(unsafe { libc::dup2(slave, target) })
            .map_err(|e| (format!("dup2(pty, {target})"), e))?;
    }
    if slave > 2 {
        // Safety: we own this copy; 0–2 hold the terminal now.
        unsafe { libc::close(slave) };
    }
    Ok(())
}
// ANCHOR_END: become_terminal

pub(crate) fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
