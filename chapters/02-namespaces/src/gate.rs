//! The create/start split: a container set up completely, waiting to exec.
//!
//! An OCI runtime's `create` builds the container and returns; a later,
//! separate `start` runs the user's program. Something must hold the
//! container's first process between the two, and outlive the `create`
//! process. runc uses a FIFO, `exec.fifo`, in the container's state
//! directory: the container opens it for *writing*, which blocks in the
//! kernel until someone opens it for reading — `start` does. No process has
//! to stay around, and `start` needs nothing but the path.
//!
//! After pivot_root the host path is gone, so the container keeps an
//! `O_PATH` descriptor of the FIFO, taken while the host's tree was still
//! visible, and reopens it through `/proc/self/fd/N` at the gate.

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

// ANCHOR: make_fifo
/// HOST side (`create`): makes the FIFO. Mode 0622: the container's
/// process may already have dropped root when it opens it.
pub fn make_exec_fifo(path: &Path) -> Result<(), Errno> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622))?;
    // mkfifo applies our umask; the mode must be exactly this.
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
}
// ANCHOR_END: make_fifo

/// CHILD side, before pivot_root: a handle on the FIFO that opens nothing
/// yet (O_PATH never blocks and grants no I/O).
pub fn hold_exec_fifo(path: &Path) -> Result<OwnedFd, Errno> {
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
}

// ANCHOR: wait_at_gate
/// CHILD side, the last step before execve: blocks until `start` opens the
/// FIFO for reading, then writes one byte so `start` knows we got past.
pub fn wait_for_start(fifo: &OwnedFd) -> Result<(), Errno> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    // Blocks here: a FIFO's writer waits for a reader.
    let writer = loop {
        match open(
            path.as_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    write(&writer, b"0")?;
    Ok(())
}
// ANCHOR_END: wait_at_gate

// ANCHOR: release
/// HOST side (`start`): opens the gate of the container whose first
/// process is `pid`. Opening with O_NONBLOCK never blocks, even without a
/// writer; then we poll, checking that the process still lives, so a
/// container killed before `start` is an error, not a hang.
pub fn release(path: &Path, still_alive: impl Fn() -> bool) -> Result<(), Errno> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let reader = open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    loop {
        let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(Errno::EINTR) => {
                if !still_alive() {
                    return Err(Errno::ESRCH);
                }
            }
            Ok(_) => {
                let mut byte = [0u8; 1];
                return match nix::unistd::read(&reader, &mut byte) {
                    Ok(1) => Ok(()),
                    Ok(_) => Err(Errno::EPIPE),
                    Err(errno) => Err(errno),
                };
            }
            Err(errno) => return Err(errno),
        }
    }
}
// ANCHOR_END: release

/// execvp's search, done before the gate so that a missing command is an
/// error of `create` (which can still report it), not of `start`.
pub fn find_program(name: &str) -> Option<std::ffi::CString> {
    use nix::unistd::{access, AccessFlags};
    let runnable = |path: &str| {
        access(path, AccessFlags::X_OK).is_ok()
            && std::fs::metadata(path).is_ok_and(|m| m.is_file())
    };
    if name.contains('/') {
        return runnable(name)
            .then(|| std::ffi::CString::new(name).ok())
            .flatten();
    }
    // The command's environment is already in place: its PATH counts, not ours.
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| format!("{dir}/{name}"))
        .find(|candidate| runnable(candidate))
        .and_then(|found| std::ffi::CString::new(found).ok())
}

/// After the gate nobody listens on the report pipe any more: say what
/// failed on stderr (the container's own), without a panicking print.
pub fn exit_after_gate(step: &str, errno: Errno) -> ! {
    let message = format!("container init: {step}: {errno}\n");
    // Safety: write(2) of a valid buffer; the result does not matter.
    let _ = unsafe { libc::write(2, message.as_ptr().cast(), message.len()) };
    // _exit: no destructors or atexit handlers of the runtime in this process.
    unsafe { libc::_exit(ch01_chroot::process::exit_code::CANNOT_RUN) }
}

/// execv of the program found before the gate.
pub fn exec_after_gate(program: &std::ffi::CStr, argv: &[String]) -> ! {
    let args: Result<Vec<std::ffi::CString>, _> = argv
        .iter()
        .map(|a| std::ffi::CString::new(a.as_bytes()))
        .collect();
    let Ok(args) = args else {
        exit_after_gate("execv (an argument contains NUL)", Errno::EINVAL)
    };
    let errno = match nix::unistd::execv(program, &args) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    exit_after_gate("execv", errno)
}
