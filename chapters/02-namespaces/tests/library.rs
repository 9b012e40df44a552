//! The library contract chapters 03, 04 and the engine build on: hooks run at
//! the right moment, errors are explained, Container waits and signals.
//!
//! `harness = false`: spawn() clones the calling process, which must be
//! single-threaded; libtest would run us on a thread beside its main thread.

use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::{
    spawn, ContainerSpec, HookError, Hooks, NamespaceError, Namespaces, NoHooks,
};
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::Rootfs;
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    if !minibox_testkit::require_root("ch02 library") {
        return;
    }
    let tests: [(&str, fn()); 8] = [
        (
            "child_created_runs_before_the_command_with_maps_written",
            child_created_runs_before_the_command_with_maps_written,
        ),
        (
            "prepare_rootfs_chooses_the_new_root",
            prepare_rootfs_chooses_the_new_root,
        ),
        (
            "pivot_root_einval_is_explained",
            pivot_root_einval_is_explained,
        ),
        (
            "a_failing_child_created_hook_stops_the_container",
            a_failing_child_created_hook_stops_the_container,
        ),
        (
            "a_failing_prepare_rootfs_hook_says_what_failed_then_what_to_do",
            a_failing_prepare_rootfs_hook_says_what_failed_then_what_to_do,
        ),
        ("try_wait_and_signal", try_wait_and_signal),
        (
            "command_ready_sees_the_command_set_up_before_its_exec",
            command_ready_sees_the_command_set_up_before_its_exec,
        ),
        (
            "a_failing_command_ready_hook_stops_the_container",
            a_failing_command_ready_hook_stops_the_container,
        ),
    ];
    for (name, test) in tests {
        eprint!("test {name} ... ");
        test();
        eprintln!("ok");
    }
    eprintln!("test result: ok. {} passed", tests.len());
}

fn spec(rootfs: &Path, script: &str) -> ContainerSpec {
    let mut spec = ContainerSpec::new(
        "libtest",
        rootfs,
        vec!["sh".into(), "-c".into(), script.into()],
    );
    spec.namespaces = Namespaces {
        pid: true,
        mount: true,
        ..Namespaces::none()
    };
    spec
}

/// Records what it saw when the parent-side hook ran.
#[derive(Default)]
struct Recorder {
    pid: Option<Pid>,
    uid_map: String,
    /// What /proc/PID/exe pointed at (or why it could not be read).
    exe: Option<Result<PathBuf, String>>,
}

impl Hooks for Recorder {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.pid = Some(pid);
        self.uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap_or_default();
        self.exe = Some(
            std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| format!("readlink: {e}")),
        );
        Ok(())
    }
}

fn child_created_runs_before_the_command_with_maps_written() {
    let rootfs = Rootfs::busybox();
    let mut spec = spec(rootfs.path(), "exit 4");
    spec.namespaces.user = true;
    let mut hooks = Recorder::default();
    let container =
        spawn(&spec, &mut hooks, &Narrator::silent()).unwrap_or_else(|e| panic!("spawn: {e}"));
    assert_eq!(hooks.pid, Some(container.pid()));
    assert_eq!(
        hooks.uid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    // The child is still a clone of us, waiting at the gate: no exec yet.
    // (A failed readlink must fail the test, not pass it.)
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    match &hooks.exe {
        Some(Ok(exe)) => assert_eq!(exe, &me, "the child is still this test binary"),
        other => panic!("/proc/PID/exe of the waiting child: {other:?}"),
    }
    assert_eq!(container.wait().ok(), Some(Exit::Code(4)));
}

/// Prepares the root like chapter 04 will: a mount of something else.
struct OtherRoot(PathBuf);

impl Hooks for OtherRoot {
    fn prepare_rootfs(&self, _rootfs: &Path) -> Result<PathBuf, HookError> {
        mount(
            Some(&self.0),
            &self.0,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| HookError::new("bind other root", Some(e), "test"))?;
        Ok(self.0.clone())
    }
}

fn prepare_rootfs_chooses_the_new_root() {
    let given = Rootfs::busybox();
    let other = Rootfs::busybox();
    std::fs::write(other.path().join("which"), "other").unwrap_or_else(|e| panic!("{e}"));
    // Where a leak can show: a mount namespace with an rshared "/".
    let ns = SharedRoot::new();
    let mounts_before = ns.mounts_under(other.path());
    let spec = spec(given.path(), "test \"$(cat /which)\" = other");
    let run = inside(&ns, || {
        ch02_namespaces::run(
            &spec,
            &mut OtherRoot(other.path().into()),
            &Narrator::silent(),
        )
    });
    // The leak first: a container that leaks may fail as well.
    assert_eq!(
        ns.mounts_under(other.path()),
        mounts_before,
        "the hook's mount did not leak"
    );
    let exit = run.unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(exit, Exit::Code(0), "the command ran in the hook's root");
}

/// Runs `f` with this process in `ns`, then puts it back in its own mount
/// namespace and directory: a container spawned in `f` is cloned from here,
/// so its mount namespace starts as a copy of `ns`.
fn inside<T>(ns: &SharedRoot, f: impl FnOnce() -> T) -> T {
    let home = File::open("/proc/self/ns/mnt")
        .unwrap_or_else(|e| panic!("opening our mount namespace: {e}"));
    let cwd = std::env::current_dir().unwrap_or_else(|e| panic!("current_dir: {e}"));
    // Allowed because no other thread shares our filesystem attributes (harness = false).
    setns(ns.ns_fd(), CloneFlags::CLONE_NEWNS)
        .unwrap_or_else(|e| panic!("setns into the shared-root namespace: {e}"));
    let result = f();
    setns(home.as_fd(), CloneFlags::CLONE_NEWNS)
        .unwrap_or_else(|e| panic!("setns back into our mount namespace: {e}"));
    // setns(CLONE_NEWNS) moved us to the namespace's "/".
    std::env::set_current_dir(&cwd).unwrap_or_else(|e| panic!("chdir {}: {e}", cwd.display()));
    result
}

/// Forgets to make the new root a mount point.
struct NoBindMount;

impl Hooks for NoBindMount {
    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        Ok(rootfs.to_path_buf())
    }
}

fn pivot_root_einval_is_explained() {
    let rootfs = Rootfs::busybox();
    let spec = spec(rootfs.path(), "true");
    match spawn(&spec, &mut NoBindMount, &Narrator::silent()) {
        Err(err @ NamespaceError::Setup { .. }) => {
            let text = err.to_string();
            assert!(text.contains("pivot_root"), "{text}");
            // EINVAL, or EBUSY when the rootfs lies on the same mount as "/".
            assert!(text.contains("EINVAL") || text.contains("EBUSY"), "{text}");
            assert!(text.contains("mount point"), "{text}");
        }
        other => panic!("expected a pivot_root error, got {other:?}"),
    }
}

struct Refuse;

impl Hooks for Refuse {
    fn child_created(&mut self, _pid: Pid) -> Result<(), HookError> {
        Err(HookError::new(
            "joining the cgroup",
            Some(Errno::EACCES),
            "try as root",
        ))
    }
}

fn a_failing_child_created_hook_stops_the_container() {
    let rootfs = Rootfs::busybox();
    let spec = spec(rootfs.path(), "touch /ran");
    match spawn(&spec, &mut Refuse, &Narrator::silent()) {
        Err(NamespaceError::Hook(hook)) => assert_eq!(hook.step, "joining the cgroup"),
        other => panic!("expected the hook's error, got {other:?}"),
    }
    assert!(!rootfs.path().join("ran").exists(), "the command never ran");
    // The child was killed and collected: no child of ours is left.
    assert_eq!(
        nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD)
    );
}

/// Fails in the child, where chapter 04 mounts its overlay.
struct FailingRoot(Option<Errno>);

impl Hooks for FailingRoot {
    fn prepare_rootfs(&self, _rootfs: &Path) -> Result<PathBuf, HookError> {
        Err(HookError::new(
            "mounting the test root",
            self.0,
            "free a layer and retry",
        ))
    }
}

fn a_failing_prepare_rootfs_hook_says_what_failed_then_what_to_do() {
    let rootfs = Rootfs::busybox();
    let spec = spec(rootfs.path(), "touch /ran");
    for (errno, expected) in [
        (
            Some(Errno::EPERM),
            "mounting the test root failed: EPERM: Operation not permitted — free a layer and retry",
        ),
        (None, "mounting the test root failed: free a layer and retry"),
    ] {
        match spawn(&spec, &mut FailingRoot(errno), &Narrator::silent()) {
            // The child's step, errno and advice crossed the report pipe intact.
            Err(err @ NamespaceError::Hook(_)) => assert_eq!(err.to_string(), expected),
            other => panic!("expected the hook's error, got {other:?}"),
        }
    }
    assert!(!rootfs.path().join("ran").exists(), "the command never ran");
}

fn try_wait_and_signal() {
    let rootfs = Rootfs::busybox();
    let spec = spec(rootfs.path(), "exec sleep 30");
    let mut container =
        spawn(&spec, &mut NoHooks, &Narrator::silent()).unwrap_or_else(|e| panic!("spawn: {e}"));
    // spawn returned as soon as the command was exec'd, not when it ended.
    assert_eq!(container.try_wait().ok(), Some(None), "still running");
    container
        .signal(Signal::SIGTERM)
        .unwrap_or_else(|e| panic!("signal: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        match container.try_wait() {
            Ok(Some(exit)) => break exit,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("try_wait: {other:?}"),
        }
    };
    assert_eq!(
        exit,
        Exit::Signal(Signal::SIGTERM),
        "the command's fate, not init's exit code"
    );
    assert_eq!(container.wait().ok(), Some(Exit::Signal(Signal::SIGTERM)));
}

/// What the parent saw while the command waited before its execve.
#[derive(Default)]
struct AtTheExec {
    /// (init, the command's host PID, its process title, its UTS namespace)
    seen: Option<(Pid, Pid, String, String)>,
    refuse: bool,
}

impl Hooks for AtTheExec {
    fn command_ready(&mut self, init: Pid) -> Result<(), HookError> {
        if self.refuse {
            return Err(HookError::new("looking at the command", None, "test"));
        }
        let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
            .unwrap_or_else(|e| panic!("children of init: {e}"));
        let command: i32 = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("init has no child yet: {children:?}"));
        let title = std::fs::read_to_string(format!("/proc/{command}/comm"))
            .unwrap_or_else(|e| panic!("comm: {e}"));
        let uts = std::fs::read_link(format!("/proc/{command}/ns/uts"))
            .unwrap_or_else(|e| panic!("ns/uts: {e}"));
        self.seen = Some((
            init,
            Pid::from_raw(command),
            title.trim().to_string(),
            uts.display().to_string(),
        ));
        Ok(())
    }
}

fn command_ready_sees_the_command_set_up_before_its_exec() {
    let rootfs = Rootfs::busybox();
    let mut spec = spec(rootfs.path(), "touch /ran");
    spec.namespaces.uts = true;
    spec.hold_before_exec = true;
    let mut hooks = AtTheExec::default();
    let container =
        spawn(&spec, &mut hooks, &Narrator::silent()).unwrap_or_else(|e| panic!("spawn: {e}"));
    let Some((init, command, title, uts)) = hooks.seen.take() else {
        panic!("command_ready was not called");
    };
    assert_eq!(init, container.pid());
    assert_ne!(command, init, "the command is init's child");
    // Not exec'd yet: it still carries chapter 02's title, not busybox's.
    assert_eq!(title, "minibox-exec");
    let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(
        uts,
        host_uts.display().to_string(),
        "already in its own UTS namespace"
    );
    assert_eq!(container.wait().ok(), Some(Exit::Code(0)));
    assert!(
        rootfs.path().join("ran").exists(),
        "the command ran after the hook"
    );
    // Without the flag the hook is not called.
    let mut hooks = AtTheExec::default();
    spec.hold_before_exec = false;
    let container =
        spawn(&spec, &mut hooks, &Narrator::silent()).unwrap_or_else(|e| panic!("spawn: {e}"));
    assert_eq!(container.wait().ok(), Some(Exit::Code(0)));
    assert!(hooks.seen.is_none());
}

fn a_failing_command_ready_hook_stops_the_container() {
    let rootfs = Rootfs::busybox();
    let mut spec = spec(rootfs.path(), "touch /ran");
    spec.hold_before_exec = true;
    let mut hooks = AtTheExec {
        refuse: true,
        ..AtTheExec::default()
    };
    match spawn(&spec, &mut hooks, &Narrator::silent()) {
        Err(err @ NamespaceError::Hook(_)) => {
            assert_eq!(err.to_string(), "looking at the command failed: test")
        }
        other => panic!("expected the hook's error, got {other:?}"),
    }
    assert!(!rootfs.path().join("ran").exists(), "the command never ran");
    assert_eq!(
        nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD)
    );
}
