//! Joining namespaces that already exist: setns(2).
//!
//! clone(2) makes *new* namespaces. Two things need to enter *existing* ones:
//! a container that shares another's network (a Kubernetes pod: every
//! container joins the "pause" container's net, ipc and uts namespaces), and
//! `exec`, which runs one more process inside a running container. A
//! namespace is named by a file — /proc/PID/ns/net, or a bind mount of it
//! (/run/netns/NAME) — and setns(fd) moves the caller in.
//!
//! Two namespaces behave oddly. The PID namespace of the caller never
//! changes: setns sets the one its *children* will be born in, so we fork
//! once more. And a user namespace must come first: it decides which
//! capabilities we hold for joining the others.

use crate::error::NamespaceError;
use crate::hooks::{HookError, Hooks};
use ch01_chroot::child_report::ReportPipe;
use ch01_chroot::gate::Gate;
use ch01_chroot::{Exit, Narrator};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::{setns, CloneFlags};
use nix::sys::stat::Mode;
use nix::unistd::{fork, ForkResult, Pid};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The eight kinds, in the order they are joined: user first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamespaceKind {
    User,
    Mount,
    Uts,
    Ipc,
    Net,
    Pid,
    Cgroup,
    Time,
}

impl NamespaceKind {
    pub const JOIN_ORDER: [NamespaceKind; 8] = [
        NamespaceKind::User,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Net,
        NamespaceKind::Pid,
        NamespaceKind::Cgroup,
        NamespaceKind::Time,
        // Last: once in the container's mount namespace, host paths are gone.
        NamespaceKind::Mount,
    ];

    /// The file name under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Mount => "mnt",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Net => "net",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Cgroup => "cgroup",
            NamespaceKind::Time => "time",
        }
    }

    /// The CLONE_NEW* flag; setns checks that the file is of this kind.
    pub fn flag(self) -> CloneFlags {
        match self {
            NamespaceKind::User => CloneFlags::CLONE_NEWUSER,
            NamespaceKind::Mount => CloneFlags::CLONE_NEWNS,
            NamespaceKind::Uts => CloneFlags::CLONE_NEWUTS,
            NamespaceKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NamespaceKind::Net => CloneFlags::CLONE_NEWNET,
            NamespaceKind::Pid => CloneFlags::CLONE_NEWPID,
            NamespaceKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NamespaceKind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }
}

/// A namespace file, opened: the fd keeps the namespace alive and names it
/// even after we left the mount namespace its path lives in.
#[derive(Debug)]
pub struct OpenNamespace {
    pub kind: NamespaceKind,
    pub path: PathBuf,
    fd: OwnedFd,
}

/// Opens a namespace file (`/proc/PID/ns/net`, `/run/netns/x`).
pub fn open_namespace(kind: NamespaceKind, path: &Path) -> Result<OpenNamespace, NamespaceError> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|errno| {
        NamespaceError::Join {
            kind: kind.proc_name(),
            path: path.to_path_buf(),
            errno,
            hint: "the namespace file must exist: /proc/PID/ns/KIND of a live process, or a bind mount of one",
        }
    })?;
    Ok(OpenNamespace {
        kind,
        path: path.to_path_buf(),
        fd,
    })
}

// ANCHOR: enter
/// Moves the calling (single-threaded) process into each namespace, user
/// first, mount last. For PID and time, only children born from now on are inside.
pub fn enter(namespaces: &[OpenNamespace]) -> Result<(), NamespaceError> {
    for kind in NamespaceKind::JOIN_ORDER {
        for ns in namespaces.iter().filter(|ns| ns.kind == kind) {
            // setns(2): join; the flag makes the kernel check the file's kind.
            setns(&ns.fd, kind.flag()).map_err(|errno| NamespaceError::Join {
                kind: kind.proc_name(),
                path: ns.path.clone(),
                errno,
                hint: match errno {
                    Errno::EINVAL => "the file is a namespace of another kind, or this process has threads",
                    Errno::EPERM => "joining needs CAP_SYS_ADMIN in the namespace's owning user namespace: run as root",
                    _ => "check that the namespace still exists",
                },
            })?;
        }
    }
    Ok(())
}
// ANCHOR_END: enter

/// Where `pid`'s namespaces are, for each kind that differs from ours. For
/// time we take `time_for_children`: chapter 02's init unshares the time
/// namespace for the command it forks, not for itself.
pub fn namespaces_of(pid: Pid) -> Vec<(NamespaceKind, PathBuf)> {
    let ns_id = |path: &Path| std::fs::read_link(path).ok();
    NamespaceKind::JOIN_ORDER
        .iter()
        .filter_map(|&kind| {
            let name = match kind {
                NamespaceKind::Time => "time_for_children",
                other => other.proc_name(),
            };
            let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
            let ours = PathBuf::from(format!("/proc/self/ns/{}", kind.proc_name()));
            let differs = match (ns_id(&theirs), ns_id(&ours)) {
                (Some(a), Some(b)) => a != b,
                _ => false,
            };
            differs.then_some((kind, theirs))
        })
        .collect()
}

/// What `exec` runs inside a container.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    /// The container's first process (host PID): whose namespaces we join.
    pub target: Pid,
    pub argv: Vec<String>,
    /// The process's whole environment.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

/// A process started inside a running container.
#[derive(Debug)]
pub struct Exec {
    pid: Pid,
}

impl Exec {
    /// Its host PID.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Blocks until it ended. It is our child: we are a subreaper, and its
    /// parent (the helper that joined the PID namespace) has exited.
    pub fn wait(self) -> Result<Exit, NamespaceError> {
        ch01_chroot::process::wait_for_exit(self.pid).map_err(NamespaceError::sys("waitpid"))
    }
}

// ANCHOR: exec_into
/// Runs `spec.argv` inside the namespaces of `spec.target`; returns once it
/// exec'd. `hooks.child_created` runs on the host for the helper process
/// (join the container's cgroup there: everything it forks is born inside);
/// `hooks.before_exec` runs in the new process, inside the container.
pub fn exec_into(
    spec: &ExecSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Exec, NamespaceError> {
    crate::single_thread::ensure_single_threaded()?;
    if spec.argv.is_empty() {
        return Err(ch01_chroot::ChrootError::NoCommand.into());
    }
    // Open every namespace first: the paths are host paths.
    let namespaces = namespaces_of(spec.target)
        .into_iter()
        .map(|(kind, path)| open_namespace(kind, &path))
        .collect::<Result<Vec<_>, _>>()?;
    let joins_user = namespaces.iter().any(|ns| ns.kind == NamespaceKind::User);
    // The process will be our grandchild; when its parent exits it must be
    // re-parented to us (not to the host's init), so we can wait for it.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(NamespaceError::sys("prctl(PR_SET_CHILD_SUBREAPER)"))?;
    let report = ReportPipe::new().map_err(NamespaceError::sys("pipe2"))?;
    let (joined_waiter, joined_opener) = Gate::new().map_err(NamespaceError::sys("pipe2"))?.split();
    let (pid_read, pid_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(NamespaceError::sys("pipe2"))?;
    narrator.syscall(
        &format!("setns() × {} + fork()", namespaces.len()),
        "a helper joins the container's namespaces; its child is born in the PID namespace",
    );
    // Safety: we checked above that this process is single-threaded.
    let helper = match unsafe { fork() }.map_err(NamespaceError::sys("fork"))? {
        ForkResult::Child => {
            drop(joined_opener);
            drop(pid_read);
            let reporter = report.into_child();
            if joined_waiter.wait().is_err() {
                reporter.fail("waiting for the runtime (it went away)", Errno::EPIPE);
            }
            if let Err(err) = enter(&namespaces) {
                let (step, errno) = join_failure(&err);
                reporter.fail(&step, errno);
            }
            if joins_user {
                if let Err(errno) = crate::userns::become_root_in_namespace() {
                    reporter.fail("setresuid(0) in the container's user namespace", errno);
                }
            }
            // Safety: still single-threaded (a fork of a single-threaded process).
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    drop(pid_write);
                    exec_main(spec, &*hooks, reporter)
                }
                Ok(ForkResult::Parent { child }) => {
                    let _ = nix::unistd::write(&pid_write, &child.as_raw().to_ne_bytes());
                    // Exit at once: the process is re-parented to the runtime.
                    unsafe { libc::_exit(0) }
                }
                Err(errno) => reporter.fail("fork (into the PID namespace)", errno),
            }
        }
        ForkResult::Parent { child } => child,
    };
    drop(joined_waiter);
    drop(pid_write);
    let listener = report.into_parent();
    let abort = |err: NamespaceError| {
        let _ = nix::sys::signal::kill(helper, nix::sys::signal::Signal::SIGKILL);
        let _ = ch01_chroot::process::wait_for_exit(helper);
        err
    };
    if let Err(err) = hooks.child_created(helper) {
        return Err(abort(err.into()));
    }
    let _ = joined_opener.open();
    let mut bytes = [0u8; 4];
    let got = read_full(&pid_read, &mut bytes);
    let _ = ch01_chroot::process::wait_for_exit(helper);
    let failure = listener.wait().map_err(NamespaceError::sys("read"))?;
    if let Some(failure) = failure {
        if got {
            let pid = Pid::from_raw(i32::from_ne_bytes(bytes));
            let _ = ch01_chroot::process::wait_for_exit(pid);
        }
        if let Some(hook) = HookError::from_report(&failure.step, failure.errno) {
            return Err(NamespaceError::Hook(hook));
        }
        return Err(match (failure.step.as_str(), failure.errno) {
            ("execvp", Errno::ENOENT) => NamespaceError::CommandNotFound {
                command: spec.argv[0].clone(),
                rootfs: "the container".into(),
                missing: failure
                    .missing
                    .clone()
                    .unwrap_or(ch01_chroot::interpreter::Missing::Command { shell: false }),
            },
            ("execvp", errno) => NamespaceError::ExecFailed {
                command: spec.argv[0].clone(),
                rootfs: "the container".into(),
                errno,
                in_user_ns: joins_user,
            },
            (_, errno) => NamespaceError::Setup {
                step: failure.step.clone(),
                errno,
                hint: "is the container still running? (`state ID`)".into(),
            },
        });
    }
    if !got {
        return Err(NamespaceError::Sys {
            call: "fork (into the PID namespace)",
            errno: Errno::ECHILD,
        });
    }
    Ok(Exec {
        pid: Pid::from_raw(i32::from_ne_bytes(bytes)),
    })
}
// ANCHOR_END: exec_into

/// The new process, inside the container: cwd, environment, the caller's
/// last steps (identity, capabilities), execve.
fn exec_main(
    spec: &ExecSpec,
    hooks: &dyn Hooks,
    reporter: ch01_chroot::child_report::ChildReporter,
) -> ! {
    if let Err(errno) = nix::unistd::chdir(&spec.cwd) {
        reporter.fail(&format!("chdir({})", spec.cwd.display()), errno);
    }
    for (key, _) in std::env::vars_os() {
        std::env::remove_var(key);
    }
    for (key, value) in &spec.env {
        std::env::set_var(key, value);
    }
    if let Err(err) = hooks.before_exec() {
        let (step, errno) = err.to_report();
        reporter.fail(&step, errno);
    }
    reporter.exec(&spec.argv)
}

fn join_failure(err: &NamespaceError) -> (String, Errno) {
    match err {
        NamespaceError::Join {
            kind, path, errno, ..
        } => (format!("setns({}, {})", path.display(), kind), *errno),
        other => (other.to_string(), Errno::UnknownErrno),
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => return false,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
    true
}
