//! Paths inside the rootfs, resolved by file descriptor.
//!
//! A mount target in config.json (`/etc/resolv.conf`) is a path *inside* the
//! container's root, and the rootfs comes from an image: `/etc` may be a
//! symlink to `/`, or to `../../../host`. Checking the path and then using it
//! is racy, and joining it onto the rootfs path follows such a symlink out to
//! the host. So every lookup goes through openat2(RESOLVE_IN_ROOT): the
//! kernel resolves the path as if the rootfs were "/" — `..` and absolute
//! symlinks stop at it — and we mount onto the resulting descriptor through
//! /proc/self/fd/N, never onto a path.
//!
//! Chapter 02's `inroot` opens its few fixed places (`dev`, `proc`, `sys`)
//! and refuses any symlink on the way. An OCI config names arbitrary
//! destinations, and images legitimately hold symlinks (`/var/run -> /run`,
//! `/etc/resolv.conf -> ../run/…`), so here a symlink is *followed* — but as
//! a path inside the rootfs, exactly as if the rootfs were "/", which is
//! what runc and crun do.

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, Mode};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// What an in-root lookup failed at: the path inside the rootfs and the errno.
pub type InRootFailure = (String, Errno);

fn how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        // Inside the root; and no /proc/self/fd-style magic links, which could point anywhere.
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

/// Opens `inside` (a path in the container) relative to `root`, in-root.
pub fn open_in(root: &OwnedFd, inside: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    let relative = relative(inside);
    openat2(root.as_fd(), relative.as_path(), how(flags))
}

/// The mount target for an open descriptor.
pub fn proc_fd(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `/a/b/../c` → `a/b/../c`: relative to the root fd (the kernel handles `..`).
fn relative(inside: &Path) -> PathBuf {
    let mut out = PathBuf::from(".");
    for part in inside.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => out.push(".."),
            _ => {}
        }
    }
    out
}

/// `mkdir -p` inside the root. Each component is looked at in the
/// directory we hold open (O_NOFOLLOW): a directory is entered, a missing
/// one made with mkdirat, and a symlink's target is followed *as a path
/// inside the root* (an absolute one starts again at the rootfs), so a
/// symlink planted in the image can never send the mkdir to the host.
/// Returns an O_PATH fd of the final directory.
pub fn mkdir_all_in(root: &OwnedFd, inside: &Path) -> Result<OwnedFd, InRootFailure> {
    let mut left: std::collections::VecDeque<std::ffi::OsString> = components(inside).into();
    let mut done = PathBuf::from("/");
    let mut links_followed = 0;
    let reopen = |done: &Path| {
        open_in(root, done, OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(|e| (done.display().to_string(), e))
    };
    let mut here = reopen(&done)?;
    // ANCHOR: mkdir_in_root_look
    while let Some(name) = left.pop_front() {
        if name == ".." {
            done.pop();
            here = reopen(&done)?;
            continue;
        }
        let shown = || done.join(&name).display().to_string();
        let entry = nix::fcntl::openat(
            here.as_fd(),
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        );
        match entry {
            Err(Errno::ENOENT) => {
                // mkdirat in the parent we hold: never a path through a symlink.
                match mkdirat(
                    here.as_fd(),
                    name.as_os_str(),
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err((shown(), e)),
                }
                left.push_front(name);
            }
            Err(e) => return Err((shown(), e)),
            // ANCHOR_END: mkdir_in_root_look
            // ANCHOR: mkdir_in_root_follow
            Ok(fd) => {
                let kind = nix::sys::stat::fstat(&fd)
                    .map_err(|e| (shown(), e))?
                    .st_mode
                    & libc::S_IFMT;
                if kind == libc::S_IFDIR {
                    done.push(&name);
                    here = fd;
                } else if kind == libc::S_IFLNK {
                    links_followed += 1;
                    if links_followed > 40 {
                        return Err((shown(), Errno::ELOOP));
                    }
                    let target = nix::fcntl::readlinkat(here.as_fd(), name.as_os_str())
                        .map_err(|e| (shown(), e))?;
                    let target = PathBuf::from(target);
                    if target.is_absolute() {
                        done = PathBuf::from("/");
                        here = reopen(&done)?;
                    }
                    for part in components(&target).into_iter().rev() {
                        left.push_front(part);
                    }
                } else {
                    return Err((shown(), Errno::ENOTDIR));
                }
            }
        }
    }
    // ANCHOR_END: mkdir_in_root_follow
    Ok(here)
}

/// The names of a path, `..` kept, `.` and `/` dropped.
fn components(path: &Path) -> Vec<std::ffi::OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}
/// An empty file inside the root to bind a file onto (its directories made
/// in-root first). An existing file (or whatever a symlink there resolves
/// to, in-root) is fine as it is.
pub fn create_file_in(root: &OwnedFd, inside: &Path) -> Result<OwnedFd, InRootFailure> {
    let shown = || inside.display().to_string();
    if let Ok(fd) = open_in(root, inside, OFlag::O_PATH) {
        return Ok(fd);
    }
    let parent = inside.parent().unwrap_or(Path::new("/"));
    let name = inside.file_name().ok_or_else(|| (shown(), Errno::EINVAL))?;
    let dir = mkdir_all_in(root, parent)?;
    let dir = nix::fcntl::openat(
        dir.as_fd(),
        ".",
        OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| (shown(), e))?;
    // O_NOFOLLOW | O_EXCL: if a symlink appeared meanwhile, fail rather than follow it.
    match nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_WRONLY,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err((shown(), e)),
    }
    open_in(root, inside, OFlag::O_PATH).map_err(|e| (shown(), e))
}
