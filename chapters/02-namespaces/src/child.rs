//! The child side: everything between clone(2) and the command's execve.
//!
//! This code runs in the cloned child, already inside its new namespaces.
//! Each step that fails is reported to the parent through chapter 01's
//! [`ReportPipe`](ch01_chroot::child_report): the parent, still on the host,
//! turns "step + errno" into an error message that says what to do.

use crate::dev::{populate_dev, DeviceNodes};
use crate::hooks::{take_rootfs_bind_mounted, HookError, Hooks};
use crate::init::run_as_init;
use crate::inroot::{resolver_name, Dir};
use crate::mount::{
    mount_proc, mount_sys, remount_readonly, CreatedMountPoints, ProcMount, SysMount,
};
use crate::net::bring_up_loopback;
use crate::pivot::{make_root_private, pivot_into};
use crate::proctitle::set_process_title;
use crate::spec::ContainerSpec;
use crate::timens::unshare_time_starting_at_zero;
use crate::userns::{become_root_in_namespace, maps_id};
use ch01_chroot::child_report::ChildReporter;
use ch01_chroot::gate::{GateOpener, GateWaiter};
use ch01_chroot::Narrator;
use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getpid, sethostname};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The gates of [`ContainerSpec::hold_before_exec`]: the command says
/// "ready", the parent runs its `command_ready` hook and says "go".
#[derive(Debug)]
pub struct HoldGates {
    pub ready: GateOpener,
    pub go: GateWaiter,
}

/// What the child takes with it across clone(2).
pub struct ChildContext<'a> {
    pub spec: &'a ContainerSpec,
    pub rootfs: &'a Path,
    pub hooks: &'a dyn Hooks,
    pub narrator: &'a Narrator,
    pub reporter: ChildReporter,
    /// Opened by the parent once uid_map/gid_map are written and the hooks ran.
    pub setup_done: GateWaiter,
    pub hold: Option<HoldGates>,
    /// Where init tells the parent how the command ended.
    pub fate: OwnedFd,
}

// ANCHOR: child_main
/// The container's first process: set up, then become its init.
pub fn child_main(ctx: ChildContext<'_>) -> ! {
    let ChildContext {
        spec,
        rootfs,
        hooks,
        narrator,
        reporter,
        setup_done,
        hold,
        fate,
    } = ctx;
    let ns = spec.namespaces;
    let fail = |step: &str, errno: Errno| -> ! { reporter.fail(step, errno) };

    // ANCHOR: child_wait
    // 1. Wait until the parent has mapped our IDs and run its hooks (cgroup).
    if setup_done.wait().is_err() {
        fail("waiting for the parent (it went away)", Errno::EPIPE);
    }
    narrator.observe(&format!("inside: I am PID {}", getpid()));
    // The create/start gate: hold the FIFO now, while the host's paths are visible.
    let gate = spec.start_gate.as_deref().map(|fifo| {
        crate::gate::hold_exec_fifo(fifo)
            .unwrap_or_else(|e| fail(&format!("opening the exec FIFO {}", fifo.display()), e))
    });
    if ns.user {
        become_root_in_namespace().unwrap_or_else(|e| fail("setresgid/setresuid(0)", e));
        // Changing IDs cleared PR_SET_PDEATHSIG: ask again (and check the parent still lives).
        ch01_chroot::process::die_with_parent(None, Some(std::os::fd::AsFd::as_fd(&fate)))
            .unwrap_or_else(|e| fail("prctl(PR_SET_PDEATHSIG) after setresuid", e));
        narrator.syscall(
            "setresuid(0, 0, 0)",
            "we are root — of this user namespace only",
        );
    }
    // 2. Only now, *after* the parent put us into our cgroup: the cgroup
    //    namespace's root is the cgroup we are in at unshare time.
    if ns.cgroup {
        unshare(CloneFlags::CLONE_NEWCGROUP)
            .unwrap_or_else(|e| fail("unshare(CLONE_NEWCGROUP)", e));
        narrator.syscall(
            "unshare(CLONE_NEWCGROUP)",
            "our cgroup becomes \"/\" in /proc/self/cgroup",
        );
    }
    // ANCHOR_END: child_wait
    // ANCHOR: child_root
    // 3. The root filesystem.
    make_root_private().unwrap_or_else(|e| fail("making / rprivate", e));
    narrator.syscall(
        "mount(\"/\", MS_REC|MS_PRIVATE)",
        "nothing we mount from now on propagates to the host",
    );
    // Clear a flag inherited from the parent: only this call's bind counts.
    take_rootfs_bind_mounted();
    let new_root = hooks
        .prepare_rootfs(rootfs)
        .unwrap_or_else(|e| fail_hook(&reporter, &e));
    // Narrate only what happened: a caller's hook may have mounted overlayfs.
    if take_rootfs_bind_mounted() {
        narrator.syscall(
            &format!("mount({}, MS_BIND)", new_root.display()),
            "the new root must be a mount point for pivot_root",
        );
    } else {
        narrator.step(&format!(
            "root prepared by the caller's hook: {}",
            new_root.display()
        ));
    }
    // ANCHOR_END: child_root
    // ANCHOR: child_mounts
    // Opened once, after it became a mount point; everything below goes through this fd.
    let root = Dir::open_host(&new_root)
        .unwrap_or_else(|e| fail(&format!("opening the new root {}", new_root.display()), e));
    if spec.pseudo_filesystems {
        mount_pseudo_filesystems(spec, &root, narrator).unwrap_or_else(|(step, e)| fail(&step, e));
    }
    if ns.net {
        bring_up_loopback().unwrap_or_else(|e| fail("bringing up lo (SIOCSIFFLAGS)", e));
        narrator.syscall(
            "ioctl(SIOCSIFFLAGS, lo, IFF_UP)",
            "the new net namespace has only lo, and it was down",
        );
    }
    // Before pivot_root, while /proc/self/fd is still the host's /proc.
    if spec.readonly_rootfs {
        remount_readonly(root.fd()).unwrap_or_else(|e| fail("remounting the root read-only", e));
        narrator.syscall(
            "mount(/proc/self/fd/N, MS_REMOUNT|MS_BIND|MS_RDONLY)",
            "the root filesystem is read-only",
        );
    }
    pivot_into(&root).unwrap_or_else(|(step, e)| fail(step.name(), e));
    narrator.syscall(
        "pivot_root(\".\", \".\") + umount2(\".\", MNT_DETACH)",
        "the rootfs is \"/\"; the host's root is gone from this namespace",
    );
    // ANCHOR_END: child_mounts
    // ANCHOR: child_identity
    // 4. Identity and clocks.
    if ns.uts {
        sethostname(spec.effective_hostname()).unwrap_or_else(|e| fail("sethostname", e));
        narrator.syscall(
            &format!("sethostname({:?})", spec.effective_hostname()),
            "only this UTS namespace sees the new name",
        );
    }
    // (With time_offsets the parent made the time namespace before the clone.)
    if ns.time && spec.time_offsets.is_none() {
        unshare_time_starting_at_zero().unwrap_or_else(|(step, e)| fail(step, e));
        narrator.syscall(
            "unshare(CLONE_NEWTIME) + timens_offsets",
            "the command's monotonic and boot clocks start at 0",
        );
    }
    // 5. Become init; the command runs in a child of ours. Or, as an OCI
    //    runtime does, become the command: it is PID 1 itself.
    if !spec.init {
        command_main(spec, hooks, narrator, reporter, hold, gate);
    }
    if spec.start_gate.is_some() {
        // create/start: the container outlives the process that created it.
        let _ = nix::sys::prctl::set_pdeathsig(None);
    }
    set_process_title("minibox-init", &format!("minibox-init {}", spec.name));
    narrator.syscall(
        "fork()",
        if ns.pid {
            "init stays PID 1 (reaps, forwards signals); the command runs as its child"
        } else {
            "init stays behind as a subreaper (reaps, forwards signals); the command runs as its child"
        },
    );
    run_as_init(
        move || command_main(spec, hooks, narrator, reporter, hold, gate),
        fate,
    )
    // ANCHOR_END: child_identity
}
// ANCHOR_END: child_main

/// Sends a hook's failure (step, errno and what to do) to the parent, and exits.
fn fail_hook(reporter: &ChildReporter, error: &HookError) -> ! {
    let (step, errno) = error.to_report();
    reporter.fail(&step, errno)
}

/// /proc, /sys and /dev, mounted into the new root before we pivot into it.
fn mount_pseudo_filesystems(
    spec: &ContainerSpec,
    root: &Dir,
    narrator: &Narrator,
) -> Result<CreatedMountPoints, (String, Errno)> {
    let ns = spec.namespaces;
    let mut created = CreatedMountPoints::default();
    let proc_how = mount_proc(root, ns.user, ns.pid, &mut created)?;
    narrator.syscall(
        "mount(\"proc\", \"/proc\")",
        match (proc_how, ns.pid) {
            (ProcMount::HostBound, _) => {
                "a user namespace may not mount a procfs for the host's PID namespace: we lend the host's /proc"
            }
            (ProcMount::Fresh, true) => "a procfs of the new PID namespace: ps sees only the container",
            (ProcMount::Fresh, false) => "no PID namespace: this procfs still lists every host process",
        },
    );
    match mount_sys(root, ns.user, ns.net, &mut created)? {
        SysMount::Fresh => narrator.syscall("mount(\"sysfs\", \"/sys\", MS_RDONLY)", "read-only: the container may look, not tune the kernel"),
        SysMount::HostBound => narrator.syscall(
            "mount(\"/sys\", \"/sys\", MS_BIND|MS_REC) + MS_RDONLY",
            "a user namespace without a net namespace may not mount sysfs: we lend the host's, read-only",
        ),
    }
    // devpts' gid=5 ("tty") must exist inside, which a small uid map may not cover.
    let devpts_gid = (!ns.user || maps_id(&spec.gid_map, 5)).then_some(5);
    let dev = populate_dev(root, ns.user, ns.ipc, devpts_gid, &mut created)?;
    narrator.syscall(
        "mount(\"tmpfs\", \"/dev\") + devpts + shm",
        match dev.nodes {
            DeviceNodes::Created => "a /dev with six devices made with mknod, not the host's disks",
            DeviceNodes::BoundFromHost => {
                "a /dev with six devices bound from the host (mknod is refused in a user namespace)"
            }
        },
    );
    if !dev.mqueue {
        narrator.detail(
            "no /dev/mqueue: without an IPC namespace it would show the host's message queues",
        );
    }
    narrator.detail(&format!(
        "each mount point was opened by fd inside the rootfs with {}, and mounted through /proc/self/fd/N: a symlink in the rootfs cannot send a mount outside it",
        resolver_name()
    ));
    if !created.0.is_empty() {
        narrator.detail(&format!(
            "the rootfs had no /{}: mkdirat made an empty directory to mount on",
            created.0.join(", /")
        ));
    }
    Ok(created)
}

/// The command's process, forked by init: last preparations, then execve.
fn command_main(
    spec: &ContainerSpec,
    hooks: &dyn Hooks,
    narrator: &Narrator,
    reporter: ChildReporter,
    hold: Option<HoldGates>,
    gate: Option<OwnedFd>,
) -> ! {
    let workdir = spec.workdir.clone().unwrap_or_else(|| PathBuf::from("/"));
    if let Err(errno) = nix::unistd::chdir(&workdir) {
        reporter.fail(&format!("chdir({})", workdir.display()), errno);
    }
    // The command's environment is the spec's, not ours. execvp looks the
    // command up in *our* PATH, so this must happen before it.
    for (key, _) in std::env::vars_os() {
        std::env::remove_var(key);
    }
    for (key, value) in &spec.env {
        std::env::set_var(key, value);
    }
    if let Some(HoldGates { ready, go }) = hold {
        // Named in `ps` while it waits: the command has not exec'd yet.
        set_process_title("minibox-exec", &format!("minibox-exec {}", spec.name));
        let _ = ready.open();
        if go.wait().is_err() {
            reporter.fail(
                "waiting for the parent's command_ready hook (the parent went away)",
                Errno::EPIPE,
            );
        }
    }
    if let Err(e) = hooks.before_exec() {
        fail_hook(&reporter, &e);
    }
    if let Some(fifo) = gate {
        wait_at_gate(spec, narrator, reporter, &fifo);
    }
    narrator.syscall(
        &format!("execvp({:?})", spec.argv[0]),
        "replace this process with the command",
    );
    reporter.exec(&spec.argv)
}

// ANCHOR: wait_at_gate
/// The create/start split, child side: everything is set up; check that the
/// command exists, tell the parent we are ready (closing the report pipe is
/// the signal, as a successful execve would be), then wait for `start`.
fn wait_at_gate(
    spec: &ContainerSpec,
    narrator: &Narrator,
    reporter: ChildReporter,
    fifo: &OwnedFd,
) -> ! {
    let Some(program) = crate::gate::find_program(&spec.argv[0]) else {
        reporter.fail("execvp", Errno::ENOENT)
    };
    // The container outlives `create`: no death signal when it exits.
    let _ = nix::sys::prctl::set_pdeathsig(None);
    narrator.syscall(
        "open(exec.fifo, O_WRONLY)",
        "created: the command waits here, in the kernel, until `start` opens the FIFO",
    );
    drop(reporter);
    if let Err(errno) = crate::gate::wait_for_start(fifo) {
        crate::gate::exit_after_gate("waiting at the exec FIFO", errno);
    }
    crate::gate::exec_after_gate(&program, &spec.argv)
}
// ANCHOR_END: wait_at_gate
