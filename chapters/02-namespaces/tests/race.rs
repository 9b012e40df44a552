//! A rootfs that changes while the container starts: the check-then-use race.
//!
//! A racer process swaps a mount point of the rootfs (`dev`, `proc`, `sys`)
//! with a symlink to a host directory outside it, as fast as it can
//! (renameat2 RENAME_EXCHANGE), while the chapter-02 binary starts again and
//! again. Code that checks a path and then uses the path loses within a few
//! hundred runs and writes device nodes or mounts outside the rootfs. Ours
//! may refuse to start ("the rootfs changed under us"), but must never write
//! or mount outside. Runs under an rshared "/", so a leaked mount shows.

mod common;

use common::{command_in, entries};
use minibox_testkit::bounded::output_within;
use minibox_testkit::mounts::mounts_under;
use minibox_testkit::propagation::SharedRoot;
use minibox_testkit::{require_root, text, Rootfs};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Starts per test: enough for a by-path implementation to lose (it did within 300).
const RUNS: usize = 200;
/// …or this long, whichever comes first (a slow machine runs fewer).
const BUDGET: Duration = Duration::from_secs(4);

/// A forked process swapping two names in a loop until it is dropped.
struct Racer {
    pid: Pid,
}

impl Racer {
    fn start(a: &Path, b: &Path) -> Racer {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (c(a), c(b));
        // Safety: the child calls only prctl, close and renameat2 (async-signal-safe)
        // and never returns; the test process has other threads.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // Never outlive the test, even one that is killed.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
                // Hold none of the fds other tests' threads had open at the
                // fork (their children's pipes would never see EOF).
                if unsafe { libc::syscall(libc::SYS_close_range, 3, u32::MAX, 0) } != 0 {
                    for fd in 3..4096 {
                        unsafe { libc::close(fd) };
                    }
                }
                loop {
                    // Atomically exchange the two names: at every moment one
                    // is the real directory and the other the symlink.
                    unsafe {
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            a.as_ptr(),
                            libc::AT_FDCWD,
                            b.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                }
            }
            Ok(ForkResult::Parent { child }) => Racer { pid: child },
            Err(e) => panic!("fork: {e}"),
        }
    }
}

impl Drop for Racer {
    fn drop(&mut self) {
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, None);
    }
}

/// One race at a time: each racer wants a core of its own to win windows.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Races `name` of a fresh rootfs against the binary started with `flags`.
fn race(name: &str, flags: &[&str]) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let ns = SharedRoot::new();
    let rootfs = Rootfs::busybox();
    let outside = tempfile::Builder::new()
        .prefix("ch02-outside-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let real = rootfs.path().join(name);
    let swap = rootfs.path().join(format!("{name}-swap"));
    std::os::unix::fs::symlink(outside.path(), &swap).unwrap_or_else(|e| panic!("symlink: {e}"));
    let mounts_before = ns.mounts_under(rootfs.path());

    // Inside, the command checks that our mount is in the container's root,
    // under either name: a mount that went to the symlink's target (on the
    // host side, in the container's private namespace) is invisible from
    // outside, but leaves the rootfs without it. /proc may be mid-swap too.
    let check = format!(
        "for i in $(seq 100); do for p in /proc /proc-swap; do \
           grep -qsE '^[0-9]+ [0-9]+ [0-9:]+ / /{name}(-swap)? ' $p/self/mountinfo && exit 0; \
         done; done; echo 'no /{name} mount inside the container' >&2; exit 42"
    );
    let racer = Racer::start(&real, &swap);
    let (mut started, mut refused) = (0, 0);
    let deadline = Instant::now() + BUDGET;
    while started + refused < RUNS && Instant::now() < deadline {
        let out = output_within(
            &mut command_in(&ns, rootfs.path(), flags, &["sh", "-c", &check]),
            Duration::from_secs(30),
        );
        let (_, stderr) = text(&out);
        // Checked after every run, so a failure says which run did it.
        assert_eq!(
            entries(outside.path()),
            Vec::<String>::new(),
            "{name} {flags:?}: run {}: written outside the rootfs",
            started + refused
        );
        assert_eq!(
            ns.mounts_under(rootfs.path()),
            mounts_before,
            "{name} {flags:?}: run {}: a mount leaked ({:?}: {stderr})",
            started + refused,
            out.status
        );
        match out.status.code() {
            Some(0) => started += 1,
            // Refused: the error must name the mount point it found changed.
            Some(125) if stderr.contains(&format!("/{name} ")) && stderr.contains("rootfs") => {
                refused += 1
            }
            _ => panic!(
                "{name} {flags:?}: run {}: {:?}: {stderr}",
                started + refused,
                out.status
            ),
        }
    }
    drop(racer);
    eprintln!(
        "{name} {flags:?}: {started} started, {refused} refused (the rootfs changed under them)"
    );

    assert_eq!(
        entries(outside.path()),
        Vec::<String>::new(),
        "{name} {flags:?}: written outside the rootfs"
    );
    assert!(
        ns.mounts_under(outside.path()).is_empty(),
        "{name} {flags:?}: a mount outside"
    );
    assert_eq!(
        ns.mounts_under(rootfs.path()),
        mounts_before,
        "{name} {flags:?}: a mount leaked"
    );
    assert!(mounts_under(rootfs.path()).is_empty(), "{name} {flags:?}");
    assert!(mounts_under(outside.path()).is_empty(), "{name} {flags:?}");
}

#[test]
fn a_racing_dev_never_gets_nodes_written_outside() {
    if !require_root("a_racing_dev_never_gets_nodes_written_outside") {
        return;
    }
    // Real root: the six devices are made with mknod (the by-path version
    // wrote them into the host directory the symlink pointed at).
    race("dev", &["--pid", "--ipc", "--uts"]);
}

#[test]
fn a_racing_proc_is_never_mounted_outside() {
    if !require_root("a_racing_proc_is_never_mounted_outside") {
        return;
    }
    race("proc", &["--mount", "--pid"]);
}

#[test]
fn a_racing_sys_is_never_mounted_outside() {
    if !require_root("a_racing_sys_is_never_mounted_outside") {
        return;
    }
    race("sys", &["--mount", "--pid"]);
}

#[test]
fn a_racing_bind_target_is_never_bound_or_remounted_outside() {
    if !require_root("a_racing_bind_target_is_never_bound_or_remounted_outside") {
        return;
    }
    // In a user namespace without its own net namespace /sys is the host's,
    // bound recursively and then remounted read-only: two steps on one target.
    race("sys", &["--user", "--mount"]);
}
