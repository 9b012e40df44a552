//! Keep the runtime's own binary out of the container's reach.
//!
//! A container's init is a clone of the runtime, so until it execs,
//! /proc/1/exe *is* the host's runtime binary, and a root process inside can
//! open it. In CVE-2019-5736 a container replaced its /bin/sh with
//! `#!/proc/self/exe`, waited for `runc exec`, kept a handle on runc's binary
//! and, as soon as runc had exited, overwrote it: the next `docker run` on
//! the host ran the attacker's code as root.
//!
//! The fix runc shipped (and still uses where it cannot mount a read-only
//! overlay of its binary): before anything else, copy the binary into a
//! memfd, seal the copy so no one can ever write it, and re-exec from the
//! copy. From then on /proc/self/exe is that sealed copy, never a file on the
//! host's disk.

use crate::error::SecurityError;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

/// Set in the environment of the re-exec'd copy, so it happens once.
pub const MARKER: &str = "_MINIBOX_SEALED_EXE";

/// What we are running from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExeState {
    /// A sealed memfd copy (we re-exec'd, or were started that way).
    Sealed,
}

// ANCHOR: reexec
// ANCHOR: reexec_copy
/// Call first thing in `main`, while the process is single-threaded. The
/// first time it never returns: it execs the sealed copy with the same
/// arguments. In the copy it removes the marker and returns.
pub fn ensure_sealed_exe() -> Result<ExeState, SecurityError> {
    if std::env::var_os(MARKER).is_some() {
        std::env::remove_var(MARKER);
        if exe_is_sealed() {
            return Ok(ExeState::Sealed);
        }
        // The marker alone proves nothing (anyone can set it): seal again.
    }
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
    // ANCHOR_END: reexec_copy
    // ANCHOR: reexec_exec
    let args: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    env.extend(CString::new(format!("{MARKER}=1")).ok());
    // fexecve(2): execute the file behind an fd — no path on any disk.
    let errno = match nix::unistd::fexecve(copy.as_fd(), &args, &env) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    Err(SecurityError::SealedExe {
        step: "fexecve",
        errno,
    })
}
// ANCHOR_END: reexec_exec
// ANCHOR_END: reexec

/// True if /proc/self/exe is a memfd with the write seal.
pub fn exe_is_sealed() -> bool {
    File::open("/proc/self/exe")
        .ok()
        .and_then(|f| fcntl(f.as_fd(), FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|seals| SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE))
}
