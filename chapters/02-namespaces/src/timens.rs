//! The time namespace: the container's clocks start at zero.
//!
//! CLONE_NEWTIME is odd in two ways. unshare(2) does not move the caller:
//! only its *children* are born in the new namespace (/proc/self/ns/time_for_children).
//! And the offsets can be written only until the first process enters it.
//! So init unshares, writes the offsets, and then forks the command.

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::time::{clock_gettime, ClockId};
use std::io::Write;

/// Which step failed.
pub type TimeFailure = (&'static str, Errno);

// ANCHOR: timens
/// Creates a time namespace for our future children in which CLOCK_MONOTONIC
/// and CLOCK_BOOTTIME read (about) zero: `uptime` inside says the container
/// just booted. Call it *before* forking the command.
pub fn unshare_time_starting_at_zero() -> Result<(), TimeFailure> {
    unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
        .map_err(|e| ("unshare(CLONE_NEWTIME)", e))?;
    let monotonic = clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map_err(|e| ("clock_gettime(CLOCK_MONOTONIC)", e))?;
    let boottime =
        clock_gettime(ClockId::CLOCK_BOOTTIME).map_err(|e| ("clock_gettime(CLOCK_BOOTTIME)", e))?;
    // One line per clock: "<clock> <seconds> <nanoseconds>". A negative
    // offset of the current value brings the clock back to ~0 (the kernel
    // refuses offsets that would make a clock negative).
    let offsets = format!(
        "monotonic {} 0\nboottime {} 0\n",
        -monotonic.tv_sec(),
        -boottime.tv_sec()
    );
    // "/proc" is a rootfs name now: open our procfs by fd, checked.
    let file = crate::inroot::open_own_proc_file("timens_offsets", nix::fcntl::OFlag::O_WRONLY)
        .map_err(|e| ("opening /proc/self/timens_offsets", e))?;
    std::fs::File::from(file)
        .write_all(offsets.as_bytes())
        .map_err(|e| {
            (
                "writing /proc/self/timens_offsets",
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        })
}
// ANCHOR_END: timens
