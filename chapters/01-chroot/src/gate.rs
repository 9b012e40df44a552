//! A one-shot gate between a parent and its forked child.
//!
//! One process waits at the gate; the other opens it by writing one byte.
//! If the opener dies first, the waiter reads EOF instead of blocking forever.
//! Chapter 01 uses it to hold the child, already inside its chroot, until the
//! trainer has looked around; chapter 02 uses it for the user namespace
//! handshake (the child waits while the parent writes uid_map).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{pipe2, read, write};
use std::os::fd::OwnedFd;

#[derive(Debug)]
pub struct Gate {
    read_end: OwnedFd,
    write_end: OwnedFd,
}

/// The waiting side of a [`Gate`].
#[derive(Debug)]
pub struct GateWaiter(OwnedFd);

/// The opening side of a [`Gate`].
#[derive(Debug)]
pub struct GateOpener(OwnedFd);

impl Gate {
    pub fn new() -> Result<Self, Errno> {
        // Close-on-exec: the container command must not inherit our plumbing.
        let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC)?;
        Ok(Gate {
            read_end,
            write_end,
        })
    }

    /// Splits the gate: the waiter goes to one process, the opener to the other.
    pub fn split(self) -> (GateWaiter, GateOpener) {
        (GateWaiter(self.read_end), GateOpener(self.write_end))
    }
}

impl GateWaiter {
    /// Blocks until the gate opens. `Err(EPIPE)` if the other side went away.
    pub fn wait(self) -> Result<(), Errno> {
        let mut byte = [0u8; 1];
        loop {
            match read(&self.0, &mut byte) {
                Ok(1) => return Ok(()),
                Ok(_) => return Err(Errno::EPIPE),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno),
            }
        }
    }
}

impl GateOpener {
    pub fn open(self) -> Result<(), Errno> {
        write(&self.0, &[1u8]).map(|_| ())
    }
}
