//! Paths inside the rootfs, opened by fd — never checked by path and then used by path.
//!
//! The rootfs is not ours: an image author chose its contents, and while the
//! container starts anyone who can write to it (another container sharing it,
//! a process on the host) can rename its entries. "Is ROOTFS/dev a
//! directory? Then mount onto ROOTFS/dev" leaves a window in which `dev` can
//! become a symlink to a host directory: the check passes, the mount lands
//! outside. So each name is resolved once, relative to a directory fd,
//! following no symlink; the fd is checked (a directory, on the expected
//! filesystem); and from then on only the fd is used: `mkdirat`, `mknodat`,
//! `symlinkat` relative to it, and `mount(2)` onto `/proc/self/fd/N`, which
//! the kernel resolves to that very directory, whatever its name is by then.

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once openat2 turned out to be missing (kernel < 5.6), so we stop asking.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// A directory opened by fd (O_PATH), with the identity it had when we checked it.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    stat: FileStat,
}

impl Dir {
    /// Opens a directory the caller names on the host (the rootfs itself,
    /// or a root a hook prepared). Its path is the caller's choice and is
    /// followed as usual; what lies *below* it is opened with [`Dir::open_in`].
    pub fn open_host(path: &Path) -> Result<Dir, Errno> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Dir::checked(fd)
    }

    /// Opens `path` below this directory without following any symlink;
    /// it must be a directory. ELOOP for a symlink, ENOTDIR for anything else.
    pub fn open_in(&self, path: &str) -> Result<Dir, Errno> {
        Dir::checked(open_in_root(self.fd.as_fd(), path)?)
    }

    fn checked(fd: OwnedFd) -> Result<Dir, Errno> {
        let stat = fstat(&fd)?;
        match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFDIR => Ok(Dir { fd, stat }),
            SFlag::S_IFLNK => Err(Errno::ELOOP),
            _ => Err(Errno::ENOTDIR),
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The filesystem (st_dev) the directory was on when we opened it.
    pub fn dev(&self) -> u64 {
        self.stat.st_dev
    }

    /// (st_dev, st_ino): which directory this is, whatever its name.
    pub fn identity(&self) -> (u64, u64) {
        (self.stat.st_dev, self.stat.st_ino)
    }

    /// The path to hand to mount(2) so that it acts on this very directory.
    pub fn proc_path(&self) -> PathBuf {
        proc_fd_path(self.fd.as_fd())
    }
}

/// `/proc/self/fd/N`: a "magic link" the kernel resolves to the file the fd
/// refers to, not to whatever name it has now. Only valid before pivot_root,
/// while /proc is still the host's (after it, "/proc" is a rootfs name too).
pub fn proc_fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

// ANCHOR: open_in_root
/// Opens `path` (relative, without "..") below `root` as an O_PATH fd,
/// following no symlink on the way and treating `root` as "/".
pub fn open_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    check_relative(path)?;
    if !OPENAT2_MISSING.load(Ordering::Relaxed) {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            // IN_ROOT: "/" and ".." stop at `root`; NO_SYMLINKS: a symlink
            // anywhere on the path, the last component too, is ELOOP.
            .resolve(
                ResolveFlag::RESOLVE_IN_ROOT
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
        match openat2(root, path, how) {
            // ENOSYS: a kernel before 5.6. EPERM: a seccomp filter (an older
            // container runtime's) that does not know the call.
            Err(Errno::ENOSYS | Errno::EPERM) => OPENAT2_MISSING.store(true, Ordering::Relaxed),
            result => return result,
        }
    }
    open_by_walk(root, path)
}
// ANCHOR_END: open_in_root

// ANCHOR: open_by_walk
/// The same without openat2: one component at a time, each opened with
/// O_NOFOLLOW relative to the one before, each checked not to be a symlink.
pub(crate) fn open_by_walk(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    check_relative(path)?;
    let mut current: Option<OwnedFd> = None;
    for name in components(path) {
        let at = current.as_ref().map_or(root, |fd| fd.as_fd());
        // O_PATH|O_NOFOLLOW opens a symlink *itself* rather than failing...
        let fd = openat(
            at,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // ...so refuse it here, as openat2 would have.
        if fstat(&fd)?.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFLNK.bits() {
            return Err(Errno::ELOOP);
        }
        current = Some(fd);
    }
    current.ok_or(Errno::EINVAL)
}
// ANCHOR_END: open_by_walk

// ANCHOR: own_proc_file
/// Opens a file of our own /proc/PID after pivot_root, when "/proc" is a name
/// in the rootfs like any other: refused (ELOOP) if it is a symlink, and
/// (EXDEV) if what is there is not a procfs — someone swapped the directory
/// we mounted ours on. Below it, procfs makes the names, not the rootfs.
pub fn open_own_proc_file(name: &str, flags: OFlag) -> Result<OwnedFd, Errno> {
    let root = Dir::open_host(Path::new("/"))?;
    let proc = root.open_in("proc")?;
    if nix::sys::statfs::fstatfs(proc.fd())?.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC
    {
        return Err(Errno::EXDEV);
    }
    let path = format!("{}/{name}", nix::unistd::getpid());
    openat(
        proc.fd(),
        path.as_str(),
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}
// ANCHOR_END: own_proc_file

/// Whether the O_NOFOLLOW walk stands in for openat2 on this kernel.
pub fn resolver_name() -> &'static str {
    if OPENAT2_MISSING.load(Ordering::Relaxed) {
        "an O_NOFOLLOW walk, one component at a time (this kernel has no openat2)"
    } else {
        "openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS)"
    }
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// Our callers name fixed places ("dev", "dev/pts"): refuse anything else
/// rather than define what ".." should mean.
fn check_relative(path: &str) -> Result<(), Errno> {
    if path.starts_with('/')
        || components(path).next().is_none()
        || components(path).any(|c| c == "..")
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn both(root: &Dir, path: &str) -> [Result<(u64, u64), Errno>; 2] {
        let id = |fd: OwnedFd| fstat(&fd).map(|s| (s.st_dev, s.st_ino));
        [
            open_in_root(root.fd(), path).and_then(id),
            open_by_walk(root.fd(), path).and_then(id),
        ]
    }

    #[test]
    fn both_resolvers_open_real_directories_and_refuse_symlinks(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::create_dir_all(tmp.path().join("dev/pts"))?;
        std::fs::write(tmp.path().join("file"), "")?;
        symlink(outside.path(), tmp.path().join("link"))?;
        symlink("dev", tmp.path().join("relative-link"))?;
        std::fs::create_dir(tmp.path().join("dev/inner"))?;
        symlink("../..", tmp.path().join("dev/inner/up"))?;
        let root = Dir::open_host(tmp.path())?;
        let pts = std::fs::metadata(tmp.path().join("dev/pts"))?;
        use std::os::unix::fs::MetadataExt;
        for result in both(&root, "dev/pts") {
            assert_eq!(result, Ok((pts.dev(), pts.ino())));
        }
        for path in [
            "link",
            "relative-link",
            "link/x",
            "dev/inner/up",
            "dev/inner/up/tmp",
        ] {
            for result in both(&root, path) {
                assert_eq!(result, Err(Errno::ELOOP), "{path}");
            }
        }
        for path in ["/dev", "..", "dev/../dev", "", "."] {
            for result in both(&root, path) {
                assert_eq!(result, Err(Errno::EINVAL), "{path:?}");
            }
        }
        assert_eq!(root.open_in("file").map(|d| d.dev()), Err(Errno::ENOTDIR));
        assert_eq!(root.open_in("missing").map(|d| d.dev()), Err(Errno::ENOENT));
        Ok(())
    }
}
