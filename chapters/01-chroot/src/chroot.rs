//! chroot(2): run a command with a different idea of where "/" is.

use crate::child_report::{ChildReporter, ReportPipe};
use crate::error::ChrootError;
use crate::escape::break_out_of_chroot;
use crate::forward::{catch_stop_signals, forward_to};
use crate::gate::{Gate, GateOpener, GateWaiter};
use crate::narrate::Narrator;
use crate::process::{die_with_parent, wait_for_exit, Exit};
use crate::trainer::{pause, HostCommand};
use nix::unistd::{chdir, chroot, fork, getpid, ForkResult, Pid};
use std::path::{Path, PathBuf};

/// What to run, and where.
#[derive(Debug, Clone)]
pub struct ChrootSpec {
    /// The directory that becomes "/" for the command.
    pub rootfs: PathBuf,
    /// The command and its arguments; the command is looked up inside `rootfs`.
    pub argv: Vec<String>,
    /// After the chroot, break out again (the classic escape) before running the command.
    pub escape: bool,
    /// Trainer mode: stop once the child is inside the chroot.
    pub pause: bool,
}

/// The checks every chapter makes before it forks: a command was given and
/// the rootfs is a directory. Returns the rootfs as an absolute path.
pub fn check_command_and_rootfs(argv: &[String], rootfs: &Path) -> Result<PathBuf, ChrootError> {
    if argv.is_empty() {
        return Err(ChrootError::NoCommand);
    }
    if !rootfs.exists() {
        return Err(ChrootError::RootfsMissing(rootfs.to_path_buf()));
    }
    if !rootfs.is_dir() {
        return Err(ChrootError::RootfsNotADirectory(rootfs.to_path_buf()));
    }
    rootfs
        .canonicalize()
        .map_err(|_| ChrootError::RootfsMissing(rootfs.to_path_buf()))
}

/// Checks what can be checked before forking, so mistakes get clear errors.
pub fn preflight(spec: &ChrootSpec) -> Result<PathBuf, ChrootError> {
    let rootfs = check_command_and_rootfs(&spec.argv, &spec.rootfs)?;
    if !nix::unistd::geteuid().is_root() {
        return Err(ChrootError::NotRoot);
    }
    Ok(rootfs)
}

/// Runs `spec.argv` inside `spec.rootfs` and returns how it ended.
pub fn run(spec: &ChrootSpec, narrator: &Narrator) -> Result<Exit, ChrootError> {
    let rootfs = preflight(spec)?;

    narrator.step(&format!(
        "host: PID {}, hostname {:?}, root {:?}",
        getpid(),
        hostname(),
        "/"
    ));

    let report = ReportPipe::new().map_err(ChrootError::sys("pipe2"))?;
    let (ready_waiter, ready_opener) = Gate::new().map_err(ChrootError::sys("pipe2"))?.split();
    let (go_waiter, go_opener) = Gate::new().map_err(ChrootError::sys("pipe2"))?.split();

    // From here on Ctrl-C and kill are passed on to the command, and we stay
    // to report how it ended (and to tidy up after --escape).
    catch_stop_signals().map_err(ChrootError::sys("sigaction"))?;
    let parent = getpid();
    narrator.syscall(
        "fork()",
        "the child will chroot; we stay outside to wait for it",
    );
    // ANCHOR: fork
    // fork(2): the command must run in a child, so that we (the parent) stay
    // outside the chroot to wait for it and report its exit code.
    // Safety: the demo binary is single-threaded here, so the child may allocate.
    let child = match unsafe { fork() }.map_err(ChrootError::sys("fork"))? {
        ForkResult::Child => {
            drop(ready_waiter);
            drop(go_opener);
            let reporter = report.into_child();
            // If we (the parent) die, the child dies too: never a command
            // running on unsupervised.
            if let Err(errno) = die_with_parent(Some(parent), None) {
                reporter.fail("prctl(PR_SET_PDEATHSIG)", errno);
            }
            child_main(spec, &rootfs, narrator, &reporter, ready_opener, go_waiter)
        }
        ForkResult::Parent { child } => child,
    };
    // ANCHOR_END: fork
    drop(ready_opener);
    drop(go_waiter);
    let listener = report.into_parent();

    // The child opens the gate once it is inside its new root.
    if ready_waiter.wait().is_ok() {
        show_from_host(child, &rootfs, narrator);
        if spec.pause {
            pause_for_trainer(child, &rootfs);
        }
    }
    // Let the child go on to exec; if it already died, the report says why.
    let _ = go_opener.open();

    let failure = listener.wait().map_err(ChrootError::sys("read"))?;
    if failure.is_none() {
        // The command runs (exec reset its signal handlers): stop signals go
        // to it now, and one that came while it was starting goes right away.
        let _ = forward_to(child);
    }
    let exit = wait_for_exit(child).map_err(ChrootError::sys("waitpid"))?;
    if spec.escape {
        // The escape left a directory in the rootfs; tidy it up.
        let _ = std::fs::remove_dir(rootfs.join(crate::escape::ESCAPE_DIR));
    }
    if let Some(failure) = failure {
        let command = spec.argv[0].clone();
        return Err(match (failure.step.as_str(), failure.errno) {
            ("execvp", nix::errno::Errno::ENOENT) => ChrootError::CommandNotFound {
                command,
                rootfs,
                missing: failure
                    .missing
                    .unwrap_or(crate::interpreter::Missing::Command { shell: false }),
            },
            ("execvp", errno) => ChrootError::ExecFailed {
                command,
                rootfs,
                errno,
            },
            _ => ChrootError::ChildSetup(failure.to_string()),
        });
    }
    narrator.step(&format!("command {exit}"));
    Ok(exit)
}

/// The child: enter the new root, maybe escape it, wait for the parent, exec.
fn child_main(
    spec: &ChrootSpec,
    rootfs: &Path,
    narrator: &Narrator,
    reporter: &ChildReporter,
    ready: GateOpener,
    go: GateWaiter,
) -> ! {
    // ANCHOR: chroot
    // chroot(2) changes one thing: how this process resolves "/".
    if let Err(errno) = chroot(rootfs) {
        reporter.fail("chroot", errno);
    }
    // chroot does not move the working directory: without chdir("/") the
    // process would still stand in a host directory, outside its new root.
    if let Err(errno) = chdir("/") {
        reporter.fail("chdir", errno);
    }
    // ANCHOR_END: chroot
    narrator.syscall(
        &format!("chroot({rootfs:?})"),
        "\"/\" now means the rootfs, for this process only",
    );
    narrator.syscall(
        "chdir(\"/\")",
        "move inside the new root, or \"..\" still leads out",
    );
    narrator.observe(&format!(
        "unchanged: PID {} (a host PID), hostname {:?}, /proc {}",
        getpid(),
        hostname(),
        if Path::new("/proc/self").exists() {
            "mounted"
        } else {
            "empty (nobody mounted it in here)"
        }
    ));

    if spec.escape {
        if let Err(failure) = break_out_of_chroot(narrator) {
            reporter.fail(&failure.step, failure.errno);
        }
    }

    let _ = ready.open();
    if go.wait().is_err() {
        // The parent went away: do not run the command unsupervised.
        reporter.fail("waiting for the parent", nix::errno::Errno::EPIPE);
    }
    narrator.syscall(
        &format!("execvp({:?})", spec.argv[0]),
        "replace this process with the command",
    );
    reporter.exec(&spec.argv)
}

/// What the host sees of the chrooted child: an ordinary process.
fn show_from_host(child: Pid, rootfs: &Path, narrator: &Narrator) {
    let root = std::fs::read_link(format!("/proc/{child}/root"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("? ({e})"));
    narrator.observe(&format!(
        "from the host, PID {child} is a normal process: /proc/{child}/root -> {root}"
    ));
    narrator.detail(&format!(
        "the host's ps, lsns and kill all see PID {child}; only its \"/\" is {rootfs:?}"
    ));
}

fn pause_for_trainer(child: Pid, rootfs: &Path) {
    pause(
        &format!("PID {child} is inside its chroot, about to exec the command"),
        &[
            HostCommand::new(
                format!("ls -l /proc/{child}/root"),
                format!("its root: {}", rootfs.display()),
            ),
            HostCommand::new(
                "ps axf",
                "the child is an ordinary host process, under ch01-chroot",
            ),
            HostCommand::new(
                format!("ls /proc/{child}/root/"),
                "the host can look inside",
            ),
            HostCommand::new(
                format!("readlink /proc/{child}/ns/pid /proc/$$/ns/pid"),
                "same PID namespace as your shell: chroot isolates nothing else",
            ),
        ],
    );
}

pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "?".to_string())
}
