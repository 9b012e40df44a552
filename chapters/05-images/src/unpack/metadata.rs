//! Owner, mode and mtime of an entry, applied in the one order that keeps
//! them all: chown first (it clears setuid/setgid and file capabilities),
//! then chmod, then xattrs, then the times (every change above bumps them).

use super::error::{shown, UnpackError};
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmod, fchmodat, futimens, utimensat, FchmodatFlags, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, Gid, Uid};
use std::os::fd::BorrowedFd;

/// What the tar header (and its PAX records) says about an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Metadata {
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    /// Permission bits including setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) mtime: TimeSpec,
}

impl Metadata {
    pub(crate) fn from_header(header: &tar::Header, pax_mtime: Option<&[u8]>) -> Option<Self> {
        let mtime = pax_mtime.and_then(parse_pax_time).or_else(|| {
            let secs = i64::try_from(header.mtime().ok()?).ok()?;
            Some(TimeSpec::new(secs, 0))
        })?;
        Some(Metadata {
            uid: header.uid().ok()?,
            gid: header.gid().ok()?,
            mode: header.mode().ok()? & 0o7777,
            mtime,
        })
    }
}

/// A PAX time: seconds, optionally with a fraction (`1700000000.123456789`).
fn parse_pax_time(value: &[u8]) -> Option<TimeSpec> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, fraction) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = fraction.chars().take(9).collect();
    let nanos: i64 = if digits.is_empty() {
        0
    } else {
        let scale = 10i64.pow(9 - digits.len() as u32);
        digits.parse::<i64>().ok()? * scale
    };
    // A negative time with a fraction (-1.5) counts the fraction downwards.
    Some(if secs < 0 && nanos > 0 {
        TimeSpec::new(secs - 1, 1_000_000_000 - nanos)
    } else {
        TimeSpec::new(secs, nanos)
    })
}

fn ids(entry: &[u8], meta: &Metadata) -> Result<(Uid, Gid), UnpackError> {
    let unmapped = || UnpackError::UnmappedOwner {
        entry: shown(entry),
        uid: meta.uid,
        gid: meta.gid,
    };
    let uid = u32::try_from(meta.uid).map_err(|_| unmapped())?;
    let gid = u32::try_from(meta.gid).map_err(|_| unmapped())?;
    Ok((Uid::from_raw(uid), Gid::from_raw(gid)))
}

fn chown_error(entry: &[u8], meta: &Metadata, errno: Errno) -> UnpackError {
    match errno {
        // EINVAL: the id has no mapping in our user namespace.
        Errno::EINVAL => UnpackError::UnmappedOwner {
            entry: shown(entry),
            uid: meta.uid,
            gid: meta.gid,
        },
        errno => UnpackError::Syscall {
            entry: shown(entry),
            what: "chown",
            errno,
            hint: " — unpack as root, or set `same_owner: false`",
        },
    }
}

fn syscall<'a>(entry: &'a [u8], what: &'static str) -> impl FnOnce(Errno) -> UnpackError + 'a {
    move |errno| UnpackError::Syscall {
        entry: shown(entry),
        what,
        errno,
        hint: "",
    }
}

/// Owner and mode of a file or directory we hold open.
pub(crate) fn own_fd(
    fd: BorrowedFd<'_>,
    entry: &[u8],
    meta: &Metadata,
    same_owner: bool,
    chmod: bool,
) -> Result<(), UnpackError> {
    if same_owner {
        let (uid, gid) = ids(entry, meta)?;
        fchown(fd, Some(uid), Some(gid)).map_err(|errno| chown_error(entry, meta, errno))?;
    }
    if chmod {
        // After chown, which cleared setuid/setgid: now they stick.
        fchmod(fd, Mode::from_bits_retain(meta.mode)).map_err(syscall(entry, "fchmod"))?;
    }
    Ok(())
}

/// Owner (and mode, for anything but a symlink) of `name` in `parent`,
/// never following `name` if it is a symlink.
pub(crate) fn own_at(
    parent: BorrowedFd<'_>,
    name: &[u8],
    entry: &[u8],
    meta: &Metadata,
    same_owner: bool,
    chmod: bool,
) -> Result<(), UnpackError> {
    if same_owner {
        let (uid, gid) = ids(entry, meta)?;
        // AT_SYMLINK_NOFOLLOW: a symlink's own owner changes, never its target's.
        fchownat(
            parent,
            name,
            Some(uid),
            Some(gid),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|errno| chown_error(entry, meta, errno))?;
    }
    if chmod {
        // NoFollowSymlink (fchmodat2 on Linux 6.6+, libc's O_PATH fallback before).
        let mode = Mode::from_bits_retain(meta.mode);
        fchmodat(parent, name, mode, FchmodatFlags::NoFollowSymlink)
            .map_err(syscall(entry, "fchmodat"))?;
    }
    Ok(())
}

/// The mtime (and atime: tars rarely carry one) of a file we hold open.
pub(crate) fn times_fd(
    fd: BorrowedFd<'_>,
    entry: &[u8],
    meta: &Metadata,
) -> Result<(), UnpackError> {
    futimens(fd, &meta.mtime, &meta.mtime).map_err(syscall(entry, "futimens"))
}

/// The times of `name` in `parent`, not following a symlink.
pub(crate) fn times_at(
    parent: BorrowedFd<'_>,
    name: &[u8],
    entry: &[u8],
    meta: &Metadata,
) -> Result<(), UnpackError> {
    utimensat(
        parent,
        name,
        &meta.mtime,
        &meta.mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(syscall(entry, "utimensat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_keep_their_fraction() {
        let t = parse_pax_time(b"1700000000.5").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (1_700_000_000, 500_000_000));
        let t = parse_pax_time(b"12.000000001999").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (12, 1));
        let t = parse_pax_time(b"-1.5").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (-2, 500_000_000));
        assert!(parse_pax_time(b"soon").is_none());
    }
}
