//! `process.terminal`: the container gets a pseudo-terminal, and whoever
//! drives us (conmon, containerd's shim, a person) gets its master side
//! through `--console-socket`.
//!
//! The runtime opens the pty, keeps the slave for the container (it becomes
//! its stdin, stdout, stderr and controlling terminal) and sends the master
//! as a file descriptor over a unix socket: SCM_RIGHTS, the one way to hand
//! an open file to another process. Then the runtime can exit; the engine
//! holds the master and relays the bytes.

use crate::error::RuntimeError;
use nix::pty::{openpty, OpenptyResult, Winsize};
use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The container's side of the pty.
#[derive(Debug)]
pub struct Pty {
    pub slave: OwnedFd,
    /// /dev/pts/N on the host, to bind onto the container's /dev/console.
    pub slave_path: PathBuf,
}

// ANCHOR: console_socket
/// Opens a pty of `size` (rows, columns), sends its master to `socket_path`,
/// returns the slave.
pub fn open_and_send(socket_path: &Path, size: Option<(u16, u16)>) -> Result<Pty, RuntimeError> {
    let failed = |message: String| RuntimeError::Console {
        path: socket_path.to_path_buf(),
        message,
    };
    let winsize = size.map(|(rows, cols)| Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let OpenptyResult { master, slave } =
        openpty(winsize.as_ref(), None).map_err(|e| failed(format!("openpty: {e}")))?;
    let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))
        .map_err(|e| failed(format!("naming the pty: {e}")))?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| failed(format!("socket: {e}")))?;
    let addr = UnixAddr::new(socket_path).map_err(|e| failed(format!("bad path: {e}")))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| {
        failed(format!(
            "connect: {e} (the engine must listen on it before calling create)"
        ))
    })?;
    // runc sends the pty's name as the message and the master as the ancillary data.
    let name = slave_path.to_string_lossy().into_owned();
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(name.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| failed(format!("sendmsg(SCM_RIGHTS): {e}")))?;
    // Our copy of the master closes here: the engine holds the only one.
    Ok(Pty { slave, slave_path })
}
// ANCHOR_END: console_socket
