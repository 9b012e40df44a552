//! The sealed copy: runc's fix of February 2019, and where an overlay
//! cannot be mounted, still its fallback.

use crate::error::SecurityError;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

// ANCHOR: reexec_copy
/// Our binary copied into an anonymous in-memory file, sealed so that no
/// one — not even we — can ever write, grow, shrink or unseal it.
pub(super) fn sealed_copy() -> Result<OwnedFd, SecurityError> {
    let fail = |step| move |errno| SecurityError::SealedExe { step, errno };
    let io = |step| {
        move |e: std::io::Error| SecurityError::SealedExe {
            step,
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        }
    };
    let mut original = File::open("/proc/self/exe").map_err(io("open /proc/self/exe"))?;
    // CLOEXEC: the fd is gone once the copy runs; ALLOW_SEALING: see below.
    let memfd = memfd_create(
        c"minibox-runtime",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(fail("memfd_create"))?;
    let mut copy = File::from(memfd);
    std::io::copy(&mut original, &mut copy).map_err(io("copying /proc/self/exe into the memfd"))?;
    // Seals are forever: no write, no resize, and no removing of the seals.
    fcntl(
        copy.as_fd(),
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_SEAL
                | SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_WRITE,
        ),
    )
    .map_err(fail("fcntl(F_ADD_SEALS)"))?;
    Ok(copy.into())
}
// ANCHOR_END: reexec_copy
