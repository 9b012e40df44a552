//! `--probe`: the escapes, tried from inside the container.
//!
//! The probes run in the command's own process, right after the
//! restrictions were applied and right before execve — so they meet exactly
//! what the command will meet, and they need no program inside the rootfs.
//! Each attempt that changes something runs in a forked child (a mount, a
//! new user namespace, a ptrace attach end with it). Nothing is written to
//! the host: device and /proc files are only *opened* for writing, the
//! clock is "set" to nothing (settimeofday(NULL, NULL) still checks
//! CAP_SYS_TIME), the module fd is bogus, reboot only asks to disable
//! Ctrl-Alt-Del.

use caps::{CapSet, Capability};
use ch07_security::Restrictions;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use seccompiler::SeccompAction;
use std::io::{Read, Write};

/// What the parent found out on the host before the container started.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// A block device root can open on the host: (major, minor).
    pub block_device: Option<(u64, u64)>,
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The door is open: the attempt got through.
    Open(String),
    /// Something stopped it: what, and the errno.
    Blocked(String),
    /// Cannot be tried here.
    NotApplicable(String),
}

pub struct Row {
    pub id: &'static str,
    pub attempt: &'static str,
    pub outcome: Outcome,
}

/// The system call a probe makes, and the capability it needs.
struct Needs {
    syscall: &'static str,
    args: [u64; 6],
    cap: Option<Capability>,
}

/// Runs a state-changing attempt in a forked child: Ok, or the errno it died with.
fn in_child(attempt: impl FnOnce() -> Result<(), Errno>) -> Result<(), Errno> {
    // Safety: the command process is single-threaded.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = match attempt() {
                Ok(()) => 0,
                Err(e) => e as i32,
            };
            // _exit: no destructors, no flushing of the parent's buffers.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, code)) => Err(Errno::from_raw(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                // SIGSYS: a seccomp filter that kills (SCMP_ACT_KILL/TRAP).
                Err(if sig == nix::sys::signal::Signal::SIGSYS {
                    Errno::ENOSYS
                } else {
                    Errno::EINTR
                })
            }
            _ => Err(Errno::ECHILD),
        },
        Err(e) => Err(e),
    }
}

fn syscall_result(rc: libc::c_long) -> Result<(), Errno> {
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Which layer refused: seccomp answers first (at syscall entry), then the
/// capability checks, then the file system.
fn explain(r: &Restrictions, needs: &Needs, errno: Errno) -> String {
    if let Some(seccomp) = &r.seccomp {
        if seccomp.verdict(needs.syscall, &needs.args) != SeccompAction::Allow {
            return format!("seccomp: {} not allowed ({errno:?})", needs.syscall);
        }
    }
    if let Some(cap) = needs.cap {
        if !caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false) {
            return format!("capability: {cap} not held ({errno:?})");
        }
    }
    match errno {
        Errno::EROFS => format!("read-only path ({errno:?})"),
        Errno::EACCES if r.user.uid != 0 => format!("user: uid {} ({errno:?})", r.user.uid),
        _ => format!("the kernel ({errno:?})"),
    }
}

fn attempt(r: &Restrictions, needs: Needs, result: Result<(), Errno>, open: &str) -> Outcome {
    match result {
        Ok(()) => Outcome::Open(open.to_string()),
        Err(errno) => Outcome::Blocked(explain(r, &needs, errno)),
    }
}

fn needs(syscall: &'static str, args: [u64; 6], cap: Option<Capability>) -> Needs {
    Needs { syscall, args, cap }
}

/// Every attempt, in the table's order.
pub fn run_all(r: &Restrictions, host: &HostFacts) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut row = |id, attempt, outcome| {
        rows.push(Row {
            id,
            attempt,
            outcome,
        })
    };

    let mount = in_child(|| {
        nix::mount::mount(
            Some("tmpfs"),
            "/dev/shm",
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )?;
        nix::mount::umount2("/dev/shm", nix::mount::MntFlags::MNT_DETACH)
    });
    row(
        "mount",
        "mount a tmpfs",
        attempt(
            r,
            needs("mount", [0; 6], Some(Capability::CAP_SYS_ADMIN)),
            mount,
            "mounted: any filesystem, the host's disk included",
        ),
    );

    row(
        "blockdev",
        "mknod + open the host's disk",
        block_device(r, host),
    );

    row(
        "sysrq",
        "open /proc/sysrq-trigger for writing",
        write_open(
            r,
            "/proc/sysrq-trigger",
            "one byte away from rebooting the host",
        ),
    );
    row(
        "sysctl",
        "open /proc/sys/kernel/core_pattern rw",
        write_open(
            r,
            "/proc/sys/kernel/core_pattern",
            "the host would run our program, as root, at its next crash",
        ),
    );

    let module = in_child(|| {
        syscall_result(unsafe { libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0) })
    });
    let module_needs = needs("finit_module", [0; 6], Some(Capability::CAP_SYS_MODULE));
    row(
        "module",
        "load a kernel module",
        match module {
            Err(Errno::EBADF) => {
                Outcome::Open("past every check: only our bogus fd stopped it".into())
            }
            Err(Errno::ENOSYS)
                if r.seccomp.as_ref().map_or(true, |s| {
                    s.verdict("finit_module", &[0; 6]) == SeccompAction::Allow
                }) =>
            {
                Outcome::NotApplicable("this kernel has no module support (ENOSYS)".into())
            }
            other => attempt(r, module_needs, other.map(|_| ()), "loaded"),
        },
    );

    let reboot = in_child(|| {
        syscall_result(unsafe {
            libc::syscall(
                libc::SYS_reboot,
                libc::LINUX_REBOOT_MAGIC1,
                libc::LINUX_REBOOT_MAGIC2,
                libc::LINUX_REBOOT_CMD_CAD_OFF,
                0,
            )
        })
    });
    row(
        "reboot",
        "reboot(2)",
        match reboot {
            // In a PID namespace only restart/halt act (they kill the container's init).
            Err(Errno::EINVAL) | Ok(()) => Outcome::Open("past the CAP_SYS_BOOT check".into()),
            other => attempt(
                r,
                needs("reboot", [0; 6], Some(Capability::CAP_SYS_BOOT)),
                other,
                "",
            ),
        },
    );

    let clock = in_child(|| {
        syscall_result(unsafe {
            libc::syscall(
                libc::SYS_settimeofday,
                std::ptr::null::<u8>(),
                std::ptr::null::<u8>(),
            )
        })
    });
    row(
        "clock",
        "set the system clock",
        attempt(
            r,
            needs("settimeofday", [0; 6], Some(Capability::CAP_SYS_TIME)),
            clock,
            "allowed: the clock is the host's, not namespaced",
        ),
    );

    let raw = in_child(|| {
        nix::sys::socket::socket(
            nix::sys::socket::AddressFamily::Inet,
            nix::sys::socket::SockType::Raw,
            nix::sys::socket::SockFlag::empty(),
            nix::sys::socket::SockProtocol::Icmp,
        )
        .map(drop)
    });
    row(
        "rawsock",
        "open a raw socket",
        attempt(
            r,
            needs("socket", [2, 3, 1, 0, 0, 0], Some(Capability::CAP_NET_RAW)),
            raw,
            "opened: forge packets (docker keeps NET_RAW, for ping)",
        ),
    );

    // PTRACE_SEIZE attaches without stopping init; our child's exit detaches.
    let ptrace = in_child(|| syscall_result(unsafe { libc::ptrace(libc::PTRACE_SEIZE, 1, 0, 0) }));
    row(
        "ptrace",
        "ptrace the container's init",
        attempt(
            r,
            needs("ptrace", [0; 6], Some(Capability::CAP_SYS_PTRACE)),
            ptrace,
            "attached: init's memory and its full capabilities are ours",
        ),
    );

    // KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_SESSION_KEYRING (-3), no create.
    let keyctl =
        in_child(|| syscall_result(unsafe { libc::syscall(libc::SYS_keyctl, 0, -3i64, 0) }));
    row(
        "keyctl",
        "keyctl: the kernel's keyrings",
        attempt(
            r,
            needs("keyctl", [0; 6], None),
            keyctl,
            "reached: keyrings are not namespaced",
        ),
    );

    let userns = in_child(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER));
    row(
        "userns",
        "unshare a user namespace",
        attempt(
            r,
            needs("unshare", [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0], None),
            userns,
            "created: full capabilities there, and more kernel to attack",
        ),
    );

    row(
        "init-exe",
        "open /proc/1/exe (the runtime) to write",
        exe(r, "/proc/1/exe"),
    );
    row(
        "self-exe",
        "open /proc/self/exe to write",
        exe(r, "/proc/self/exe"),
    );
    row(
        "kcore",
        "read /proc/kcore (host memory)",
        read_file(r, "/proc/kcore"),
    );
    row(
        "timer_list",
        "read /proc/timer_list (host timers)",
        read_file(r, "/proc/timer_list"),
    );
    rows
}

fn block_device(r: &Restrictions, host: &HostFacts) -> Outcome {
    let Some((major, minor)) = host.block_device else {
        return Outcome::NotApplicable("the host has no block device root may open".into());
    };
    let node = "/dev/.minibox-probe-disk";
    let made = mknod(
        node,
        SFlag::S_IFBLK,
        Mode::from_bits_truncate(0o600),
        makedev(major, minor),
    );
    if let Err(errno) = made {
        return Outcome::Blocked(explain(
            r,
            &needs("mknodat", [0; 6], Some(Capability::CAP_MKNOD)),
            errno,
        ));
    }
    let opened = std::fs::File::open(node);
    let _ = std::fs::remove_file(node);
    match opened {
        Ok(_) => Outcome::Open(format!(
            "b {major}:{minor} is readable: the host's disk, raw"
        )),
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            if errno == Errno::EPERM {
                Outcome::Blocked(format!(
                    "device rule: b {major}:{minor} not allowed ({errno:?})"
                ))
            } else {
                Outcome::Blocked(explain(r, &needs("openat", [0; 6], None), errno))
            }
        }
    }
}

fn write_open(r: &Restrictions, path: &str, open: &str) -> Outcome {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Outcome::Open(open.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Outcome::NotApplicable("not on this kernel".into())
        }
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            let why = if errno == Errno::EROFS {
                format!("read-only path ({errno:?})")
            } else {
                explain(r, &needs("openat", [0; 6], None), errno)
            };
            Outcome::Blocked(why)
        }
    }
}

fn exe(r: &Restrictions, path: &str) -> Outcome {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            // /proc/PID/exe needs ptrace access: init holds more capabilities than we do.
            return Outcome::Blocked(explain(
                r,
                &needs("openat", [0; 6], Some(Capability::CAP_SYS_PTRACE)),
                errno,
            ));
        }
    };
    let view = ch07_security::sealed_exe::view_of(&file);
    // O_WRONLY, never O_TRUNC: if this were writable we must not harm it.
    let write = nix::fcntl::open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty());
    let errno = write.err();
    if let Some(view) = view {
        return Outcome::Blocked(format!(
            "{}: never writable ({})",
            view.why_unwritable(),
            errno.map_or("opened, writes fail".into(), |e| format!("{e:?}"))
        ));
    }
    let target = std::fs::read_link(path)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match errno {
        None => Outcome::Open(format!("the host's binary {target}, open for writing")),
        Some(Errno::ETXTBSY) => Outcome::Open(format!(
            "the host's binary {target} (ETXTBSY only while it runs)"
        )),
        Some(e) => Outcome::Blocked(explain(r, &needs("openat", [0; 6], None), e)),
    }
}

fn read_file(r: &Restrictions, path: &str) -> Outcome {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::NotApplicable("not on this kernel".into())
        }
        Err(e) => {
            let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
            return Outcome::Blocked(explain(
                r,
                &needs("openat", [0; 6], Some(Capability::CAP_SYS_RAWIO)),
                errno,
            ));
        }
    };
    let mut buf = [0u8; 64];
    match file.read(&mut buf) {
        Ok(0) => Outcome::Blocked("masked path: reads as empty (/dev/null)".into()),
        Ok(_) => Outcome::Open("read: the host's data".into()),
        Err(e) => Outcome::Blocked(explain(
            r,
            &needs("read", [0; 6], None),
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )),
    }
}

/// The table, on stdout (it is the result the user asked for).
pub fn print(rows: &[Row]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<11} {:<8} {:<40} WHY", "PROBE", "RESULT", "ATTEMPT");
    for row in rows {
        let (result, why) = match &row.outcome {
            Outcome::Open(why) => ("OPEN", why),
            Outcome::Blocked(why) => ("blocked", why),
            Outcome::NotApplicable(why) => ("n/a", why),
        };
        let _ = writeln!(
            out,
            "{:<11} {:<8} {:<40} {}",
            row.id, result, row.attempt, why
        );
    }
    let _ = out.flush();
}
