//! The parent side: clone the child into its namespaces, map its IDs, run the
//! hooks, and supervise it.

use crate::child::{child_main, ChildContext, HoldGates};
use crate::error::NamespaceError;
use crate::hooks::{HookError, Hooks};
use crate::init::read_fate;
use crate::mount_points::MadeMountPoints;
use crate::spec::{ContainerSpec, Namespaces};
use crate::userns::write_id_maps;
use ch01_chroot::child_report::{ChildFailure, ReportPipe};
use ch01_chroot::gate::Gate;
use ch01_chroot::interpreter::Missing;
use ch01_chroot::{Exit, Narrator};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::{pipe2, Pid};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The child's stack. It runs all of the setup and the init loop on it.
const CHILD_STACK_SIZE: usize = 1024 * 1024;

/// A running container, seen from the host.
#[derive(Debug)]
pub struct Container {
    init: Pid,
    /// Init writes how the command ended here before it exits.
    fate: OwnedFd,
    /// Set once waitpid has collected init, so we never wait twice.
    exit: Option<Exit>,
    /// Mount points the container had to create in the rootfs: removed once it ended.
    made: Option<MadeMountPoints>,
}

impl Container {
    /// The container's init, as a host PID.
    pub fn pid(&self) -> Pid {
        self.init
    }

    /// Blocks until the container ends; the command's exit (signal → [`Exit::Signal`]).
    pub fn wait(mut self) -> Result<Exit, NamespaceError> {
        if let Some(exit) = self.exit {
            return Ok(exit);
        }
        let init_exit = ch01_chroot::process::wait_for_exit(self.init)
            .map_err(NamespaceError::sys("waitpid"))?;
        self.ended();
        Ok(self.command_exit(init_exit))
    }

    /// The container is gone (init collected, and its mount namespace with it).
    fn ended(&mut self) {
        if let Some(made) = self.made.take() {
            made.remove();
        }
    }

    /// Non-blocking (WNOHANG): `None` while the container runs.
    pub fn try_wait(&mut self) -> Result<Option<Exit>, NamespaceError> {
        if self.exit.is_some() {
            return Ok(self.exit);
        }
        loop {
            match waitpid(self.init, Some(WaitPidFlag::WNOHANG)) {
                Ok(status) => {
                    let Some(init_exit) = Exit::from_wait_status(status) else {
                        return Ok(None);
                    };
                    let exit = self.command_exit(init_exit);
                    self.exit = Some(exit);
                    self.ended();
                    return Ok(Some(exit));
                }
                Err(Errno::EINTR) => continue,
                Err(errno) => {
                    return Err(NamespaceError::Sys {
                        call: "waitpid",
                        errno,
                    })
                }
            }
        }
    }

    /// Sends `sig` to the container's init, which forwards it to the command.
    /// (SIGKILL and SIGSTOP cannot be caught: they hit init itself, and
    /// killing init kills the whole PID namespace.)
    pub fn signal(&self, sig: Signal) -> Result<(), NamespaceError> {
        kill(self.init, sig).map_err(NamespaceError::sys("kill"))
    }

    /// Init reports the command's fate; if init itself was killed, that is the answer.
    fn command_exit(&self, init_exit: Exit) -> Exit {
        read_fate(&self.fate).unwrap_or(init_exit)
    }
}

/// Checks what can be checked before cloning, so mistakes get clear errors.
fn preflight(spec: &ContainerSpec) -> Result<PathBuf, NamespaceError> {
    // Chapter 01's checks: a command, and a rootfs directory.
    let rootfs = ch01_chroot::chroot::check_command_and_rootfs(&spec.argv, &spec.rootfs)?;
    if spec.hostname.is_some() && !spec.namespaces.uts {
        return Err(NamespaceError::HostnameWithoutUts);
    }
    // Names go into process titles, hostnames and cgroup paths: checked
    // here, with a clear message, not by sethostname's bare EINVAL later.
    crate::spec::validate_name(&spec.name)?;
    if spec.namespaces.uts {
        crate::spec::validate_hostname(spec.effective_hostname())?;
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(NamespaceError::NotRoot);
    }
    crate::single_thread::ensure_single_threaded()?;
    Ok(rootfs)
}

// ANCHOR: clone_flags
/// The flags for clone(2). cgroup and time are *not* here: the child unshares
/// them later, once it sits in its cgroup (cgroup) and just before it forks
/// the command (time: only children enter a new time namespace).
/// The mount namespace is always on: pivot_root in the host's mount
/// namespace would change the root of the whole machine.
pub fn clone_flags(ns: &Namespaces) -> CloneFlags {
    let mut flags = CloneFlags::CLONE_NEWNS;
    for (wanted, flag) in [
        (ns.uts, CloneFlags::CLONE_NEWUTS),
        (ns.pid, CloneFlags::CLONE_NEWPID),
        (ns.net, CloneFlags::CLONE_NEWNET),
        (ns.ipc, CloneFlags::CLONE_NEWIPC),
        (ns.user, CloneFlags::CLONE_NEWUSER),
    ] {
        if wanted {
            flags |= flag;
        }
    }
    flags
}
// ANCHOR_END: clone_flags

/// Starts the container; returns once the command was exec'd.
///
/// Call it from a single-threaded process (as runc does in its C
/// constructor, before Go starts threads): the child is a clone of the
/// caller and allocates, which is only safe if no other thread held a lock.
/// A multi-threaded caller gets [`NamespaceError::MultiThreaded`].
pub fn spawn(
    spec: &ContainerSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Container, NamespaceError> {
    crate::single_thread::ensure_single_threaded()?;
    enter_before_clone(spec, narrator)?;
    let rootfs = preflight(spec)?;
    // Before the child can create any: which mount points the rootfs lacks.
    let made = MadeMountPoints::note_missing(&rootfs);
    match start(spec, &rootfs, hooks, narrator) {
        Ok(mut container) => {
            container.made = made;
            Ok(container)
        }
        Err(err) => {
            // The child is dead and collected (abort_child): its mounts are gone.
            if let Some(made) = made {
                made.remove();
            }
            Err(err)
        }
    }
}

// ANCHOR: enter_before_clone
/// Namespaces the container shares rather than gets new: we enter the
/// spec's `join` paths ourselves (setns, user first), and make the time
/// namespace with offsets; the clone is born in all of them.
fn enter_before_clone(spec: &ContainerSpec, narrator: &Narrator) -> Result<(), NamespaceError> {
    if !spec.join.is_empty() {
        let opened = spec
            .join
            .iter()
            .map(|(kind, path)| crate::join::open_namespace(*kind, path))
            .collect::<Result<Vec<_>, _>>()?;
        crate::join::enter(&opened)?;
        let names: Vec<&str> = spec.join.iter().map(|(k, _)| k.proc_name()).collect();
        narrator.syscall(
            &format!("setns({})", names.join(", ")),
            "these namespaces are shared, not new: the clone is born in them",
        );
    }
    if let Some(offsets) = &spec.time_offsets {
        crate::timens::unshare_time_with_offsets(offsets)
            .map_err(|(call, errno)| NamespaceError::Sys { call, errno })?;
        narrator.syscall(
            "unshare(CLONE_NEWTIME) + timens_offsets",
            "a time namespace for the children we make next, its clocks offset as asked",
        );
    }
    Ok(())
}
// ANCHOR_END: enter_before_clone

/// [`spawn`] after the checks: clone, handshake, hooks, until the exec.
fn start(
    spec: &ContainerSpec,
    rootfs: &Path,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Container, NamespaceError> {
    let rootfs = rootfs.to_path_buf();
    if !spec.namespaces.mount {
        narrator.warn("a mount namespace is implied: pivot_root must not change the host's root");
    }
    let flags = clone_flags(&spec.namespaces);

    let report = ReportPipe::new().map_err(NamespaceError::sys("pipe2"))?;
    let (setup_waiter, setup_opener) = Gate::new().map_err(NamespaceError::sys("pipe2"))?.split();
    // Close-on-exec: init keeps its end (it never execs), the command does not get it.
    let (fate_read, fate_write) = pipe2(OFlag::O_CLOEXEC).map_err(NamespaceError::sys("pipe2"))?;
    let (parent_hold, child_hold) = if spec.hold_before_exec {
        let (ready_waiter, ready_opener) =
            Gate::new().map_err(NamespaceError::sys("pipe2"))?.split();
        let (go_waiter, go_opener) = Gate::new().map_err(NamespaceError::sys("pipe2"))?.split();
        (
            Some((ready_waiter, go_opener)),
            Some(HoldGates {
                ready: ready_opener,
                go: go_waiter,
            }),
        )
    } else {
        (None, None)
    };
    // After clone both processes hold every end. Each takes its own out of
    // these slots and drops the other's: a waiter only sees EOF when *all*
    // copies of the opening end are closed.
    let mut parent_ends = Some((setup_opener, fate_read, parent_hold));
    let mut child_ends = Some((setup_waiter, fate_write, child_hold));
    let mut report = Some(report);

    narrator.syscall(
        &format!("clone({})", flag_names(flags)),
        "the child is born inside its new namespaces",
    );
    let mut stack = vec![0u8; CHILD_STACK_SIZE];
    let hooks_for_child: &dyn Hooks = &*hooks;
    // ANCHOR: clone
    // clone(2) rather than unshare(2): the child is created *in* the new
    // namespaces — with CLONE_NEWPID it is PID 1 at once, no second fork —
    // while we, the parent, stay outside to write its uid_map and wait for it.
    let parent = nix::unistd::getpid();
    let child_fn = Box::new(|| {
        drop(parent_ends.take());
        let (Some(report), Some((setup_done, fate, hold))) = (report.take(), child_ends.take())
        else {
            return 127;
        };
        // The container dies with us: a `kill -9` of the supervisor must not
        // leave it running. (`fate` is our lifeline: only the parent holds
        // its other end, and getppid() is 0 inside a new PID namespace.)
        if ch01_chroot::process::die_with_parent(Some(parent), Some(fate.as_fd())).is_err() {
            // Safety: _exit runs no destructors in this clone of the parent.
            unsafe { libc::_exit(127) }
        }
        child_main(ChildContext {
            spec,
            rootfs: &rootfs,
            hooks: hooks_for_child,
            narrator,
            reporter: report.into_child(),
            setup_done,
            hold,
            fate,
        })
    });
    // Safety: the child gets its own copy of our memory (no CLONE_VM) and
    // never returns into our frames: child_main ends in execve or _exit.
    let cloned = unsafe { nix::sched::clone(child_fn, &mut stack, flags, Some(libc::SIGCHLD)) };
    // ANCHOR_END: clone
    drop(child_ends.take());
    let init = cloned.map_err(|errno| NamespaceError::Clone {
        flags: flag_names(flags),
        errno,
        hint: clone_hint(errno),
    })?;
    let (Some(report), Some((setup_opener, fate_read, parent_hold))) =
        (report.take(), parent_ends.take())
    else {
        abort_child(init);
        return Err(NamespaceError::Sys {
            call: "clone",
            errno: Errno::EINVAL,
        });
    };
    let listener = report.into_parent();
    narrator.observe(&format!(
        "from the host, the container's init is PID {init}"
    ));

    // The user namespace handshake, then the hooks, while the child waits.
    let handshake = (|| -> Result<(), NamespaceError> {
        if spec.namespaces.user {
            write_id_maps(init, &spec.uid_map, &spec.gid_map)?;
            narrator.syscall(
                &format!("write /proc/{init}/uid_map, setgroups, gid_map"),
                &format!("container root = host uid {}", first_host_id(&spec.uid_map)),
            );
        }
        hooks.child_created(init)?;
        Ok(())
    })();
    if let Err(err) = handshake {
        abort_child(init);
        return Err(err);
    }
    // If the child already died, it reports why on the report pipe below.
    let _ = setup_opener.open();

    // The command, set up, waits before execve: the caller's hook runs now.
    if let Some((ready_waiter, go_opener)) = parent_hold {
        if ready_waiter.wait().is_ok() {
            if let Err(err) = hooks.command_ready(init) {
                abort_child(init);
                return Err(NamespaceError::Hook(err));
            }
        }
        let _ = go_opener.open();
    }

    let failure = match listener.wait() {
        Ok(failure) => failure,
        Err(errno) => {
            abort_child(init);
            return Err(NamespaceError::Sys {
                call: "read",
                errno,
            });
        }
    };
    if let Some(failure) = failure {
        abort_child(init);
        return Err(failure_to_error(failure, spec, &rootfs));
    }
    Ok(Container {
        init,
        fate: fate_read,
        exit: None,
        made: None,
    })
}

/// [`spawn`] + [`Container::wait`].
pub fn run(
    spec: &ContainerSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Exit, NamespaceError> {
    let container = spawn(spec, hooks, narrator)?;
    let exit = container.wait()?;
    narrator.step(&format!("command {exit}"));
    Ok(exit)
}

/// Kills a child whose setup failed and collects it, so no zombie stays behind.
fn abort_child(init: Pid) {
    let _ = kill(init, Signal::SIGKILL);
    let _ = ch01_chroot::process::wait_for_exit(init);
}

fn first_host_id(map: &[crate::spec::IdMapping]) -> String {
    map.iter()
        .find(|m| m.container_id == 0)
        .map(|m| m.host_id.to_string())
        .unwrap_or_else(|| "(unmapped)".to_string())
}

/// "CLONE_NEWNS|CLONE_NEWPID…", as the narration and errors print it.
pub fn flag_names(flags: CloneFlags) -> String {
    [
        (CloneFlags::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (CloneFlags::CLONE_NEWNS, "CLONE_NEWNS"),
        (CloneFlags::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (CloneFlags::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (CloneFlags::CLONE_NEWPID, "CLONE_NEWPID"),
        (CloneFlags::CLONE_NEWNET, "CLONE_NEWNET"),
    ]
    .iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .map(|(_, name)| *name)
    .collect::<Vec<_>>()
    .join("|")
}

fn clone_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "creating namespaces needs root (CAP_SYS_ADMIN); as root this means user namespaces are disabled or we run inside a container that forbids them: see `minibox doctor`",
        Errno::ENOSPC | Errno::EUSERS => "a namespace limit in /proc/sys/user/max_*_namespaces is reached (0 disables that namespace): see `minibox doctor`",
        Errno::EINVAL => "this kernel lacks one of the requested namespaces (CONFIG_*_NS): see `minibox doctor`",
        _ => "run `minibox doctor` to see which namespaces this kernel allows",
    }
}

// ANCHOR: explain_failure_unpack
/// Turns "step + errno" from the child into an error that says what to do.
fn failure_to_error(failure: ChildFailure, spec: &ContainerSpec, rootfs: &Path) -> NamespaceError {
    let ChildFailure {
        step,
        errno,
        missing,
    } = failure;
    if let Some(hook) = HookError::from_report(&step, errno) {
        return NamespaceError::Hook(hook);
    }
    let command = spec.argv.first().cloned().unwrap_or_default();
    // How the learner knows the root filesystem (chapter 04: its layers).
    let shown = spec
        .rootfs_description
        .clone()
        .unwrap_or_else(|| rootfs.display().to_string());
    // ANCHOR_END: explain_failure_unpack
    // ANCHOR: explain_failure_hint
    let hint = match (step.as_str(), errno) {
        ("execvp", Errno::ENOENT) => {
            // The child looked, inside the new root: the command, or what it needs?
            let missing = missing.unwrap_or(Missing::Command { shell: false });
            return NamespaceError::CommandNotFound { command, rootfs: shown, missing };
        }
        ("execvp", errno) => {
            let in_user_ns = spec.namespaces.user;
            return NamespaceError::ExecFailed { command, rootfs: shown, errno, in_user_ns };
        }
        // EBUSY when the new root is a plain directory on the same mount as "/",
        // EINVAL when it is a plain directory on another mount, or "/" is shared.
        ("pivot_root", Errno::EINVAL | Errno::EBUSY) => "the new root must be a mount point (bind it onto itself) and must not sit on a shared mount (make / rprivate first)".to_string(),
        (_, Errno::EPERM) if spec.namespaces.user => "inside a user namespace, only what the namespace owns may be mounted or created (no mknod, no sysfs without a net namespace); see `minibox doctor`".to_string(),
        (_, Errno::EPERM) => "this needs root (CAP_SYS_ADMIN): run it with sudo; see `minibox doctor`".to_string(),
        (_, Errno::EACCES) if spec.namespaces.user => format!(
            "container root is host uid {}, which owns nothing on the host: files in {shown} must be readable (and, to write, owned) by it — or run without a user namespace",
            first_host_id(&spec.uid_map),
        ),
        (_, Errno::ENOTDIR) => format!("check the directories inside {shown}"),
        (_, Errno::ELOOP | Errno::EXDEV) => format!("/proc, /sys and /dev must be real directories of {shown}, and nothing may rename them while the container starts; nothing was mounted or written outside it"),
        _ => "rerun with -v to see the steps before it; `minibox doctor` checks what this kernel allows".to_string(),
    };
    NamespaceError::Setup { step, errno, hint }
}
// ANCHOR_END: explain_failure_hint
