//! `process.terminal`: the container gets a pseudo-terminal, and whoever
//! drives us (conmon, containerd's shim, a person) gets its master side
//! through `--console-socket`.
//!
//! As runc does, the pty is opened *inside* the container, from its own
//! devpts (/dev/ptmx), so that the container sees /dev/pts/0 and not a host
//! terminal. The runtime connects to the socket on the host first (the path
//! is gone after pivot_root) and the container inherits that connection.
//! The master then travels as a file descriptor over the unix socket:
//! SCM_RIGHTS, the one way to hand an open file to another process. The
//! engine holds the master and relays the bytes; the slave becomes the
//! process's stdin, stdout, stderr and controlling terminal.

use crate::error::RuntimeError;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

/// HOST side: connect to the engine's console socket.
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd, RuntimeError> {
    let failed = |message: String| RuntimeError::Console {
        path: path.to_path_buf(),
        message,
    };
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| failed(format!("socket: {e}")))?;
    let addr = UnixAddr::new(path).map_err(|e| failed(format!("bad path: {e}")))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| {
        failed(format!(
            "connect: {e} (the engine must listen on it before calling the runtime)"
        ))
    })?;
    Ok(sock)
}

/// What the container's process does with its terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalRequest {
    /// The connected console socket (inherited from the runtime).
    pub socket: RawFd,
    /// (rows, columns), from process.consoleSize.
    pub size: Option<(u16, u16)>,
    /// Also bind the slave on /dev/console (the container's first process).
    pub console: bool,
}

// ANCHOR: console_socket_open
/// CHILD side, inside the container: open a pty from its /dev/ptmx, send the
/// master to the engine, return the slave (to become stdio).
pub fn open_and_send(request: &TerminalRequest) -> Result<RawFd, (String, Errno)> {
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| ("opening /dev/ptmx".to_string(), e))?;
    grantpt(&master).map_err(|e| ("grantpt".to_string(), e))?;
    unlockpt(&master).map_err(|e| ("unlockpt".to_string(), e))?;
    let name = ptsname_r(&master).map_err(|e| ("ptsname".to_string(), e))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| (format!("opening {name}"), e))?;
    if let Some((rows, cols)) = request.size {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // Safety: TIOCSWINSZ reads a valid winsize.
        Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size) })
            .map_err(|e| ("ioctl(TIOCSWINSZ)".to_string(), e))?;
    }
    if request.console {
        crate::devices::bind_console_here(&name)
            .map_err(|e| ("binding the terminal on /dev/console".to_string(), e))?;
    }
    // ANCHOR_END: console_socket_open
    // ANCHOR: console_socket_send
    // runc sends the pty's name as the message and the master as ancillary data.
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        request.socket,
        &[IoSlice::new(name.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| ("sendmsg(SCM_RIGHTS) on the console socket".to_string(), e))?;
    // Our master closes here (CLOEXEC anyway): the engine holds the only one.
    drop(master);
    // Safety: the socket was inherited for this one message.
    unsafe { libc::close(request.socket) };
    Ok(slave.into_raw_fd())
}
// ANCHOR_END: console_socket_send
