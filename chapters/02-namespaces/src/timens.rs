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

/// (seconds, nanoseconds) added to each clock inside a new time namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    pub monotonic: (i64, u32),
    pub boottime: (i64, u32),
}

// ANCHOR: time_offsets
/// Creates a time namespace for our future children with the given
/// offsets. unshare(CLONE_NEWTIME) moves only the children born afterwards
/// (our own clocks stay), and the offsets can be written until the first of
/// them exists: so this runs in the parent, before the clone.
pub fn unshare_time_with_offsets(offsets: &TimeOffsets) -> Result<(), TimeFailure> {
    unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
        .map_err(|e| ("unshare(CLONE_NEWTIME)", e))?;
    let TimeOffsets {
        monotonic: (mono_s, mono_ns),
        boottime: (boot_s, boot_ns),
    } = offsets;
    write_offsets(&format!(
        "monotonic {mono_s} {mono_ns}\nboottime {boot_s} {boot_ns}\n"
    ))
}
// ANCHOR_END: time_offsets

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
    write_offsets(&offsets)
}
// ANCHOR_END: timens

/// Writes /proc/self/timens_offsets, opened by fd and checked to be our own
/// procfs's (in the child "/proc" is a rootfs name by now).
fn write_offsets(offsets: &str) -> Result<(), TimeFailure> {
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
