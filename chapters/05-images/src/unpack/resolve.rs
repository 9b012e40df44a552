//! Finding an entry's parent directory *inside* the layer root, by fd.
//!
//! A layer may plant symlinks (`lib -> /usr/lib`, `evil -> ../../..`) and
//! then write through them. A path string joined onto the destination and
//! handed to `open(2)` would follow them on the host. Here every lookup
//! starts from an fd of the root and treats that fd as `/`:
//!
//! - `openat2(RESOLVE_IN_ROOT)` (Linux 5.6+): the kernel resolves the whole
//!   path as if the root fd were `/` — absolute symlinks restart at it, `..`
//!   stops at it, and it says EAGAIN if a rename raced with the lookup.
//! - the in-root walk, where openat2 is missing: one component at a time with
//!   `openat(O_PATH|O_NOFOLLOW)`, reading each symlink ourselves and
//!   restarting absolute targets at the root fd; `..` pops our own stack of
//!   fds, so the kernel never walks `..` for us.
//!
//! Missing directories on the way are created (0755), also where an in-root
//! symlink points at one that does not exist yet — as containerd and umoci do.

use super::error::UnpackError;
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;
use std::sync::OnceLock;

/// How paths inside the layer are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolver {
    /// openat2 where the kernel has it, the in-root walk where it does not.
    #[default]
    Auto,
    /// Always openat2(RESOLVE_IN_ROOT); an error on kernels before 5.6.
    Openat2,
    /// Always the component-by-component walk (what Auto falls back to).
    InRootWalk,
}

/// Symlinks followed in one lookup before we call it a loop (the kernel's
/// own limit is 40).
const MAX_HOPS: u32 = 40;

/// openat2 says EAGAIN when a rename anywhere raced with an in-root lookup;
/// after this many tries the walk (which does not care) takes over.
const EAGAIN_TRIES: u32 = 16;

/// Why a directory could not be found or made.
#[derive(Debug)]
pub(crate) enum ResolveError {
    /// It does not exist (and we were not asked to create it).
    Missing,
    /// This component exists and is not a directory (nor a link to one).
    NotADirectory(Vec<u8>),
    /// Too many symlinks.
    Loop,
    Sys(&'static str, Errno),
}

/// The layer root, and a way to find directories inside it.
pub(crate) struct Root {
    fd: Rc<OwnedFd>,
    openat2: bool,
    /// The last directory looked up: files of one directory come one after
    /// another in a tar, so most entries reuse it.
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
}

impl Root {
    /// Opens `dest` (which must be a directory, not a symlink to one).
    pub(crate) fn open(dest: &Path, resolver: Resolver) -> Result<Root, UnpackError> {
        // O_NOFOLLOW: a symlink as the destination itself is refused, not followed.
        let fd = nix::fcntl::open(
            dest.as_os_str().as_bytes(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| UnpackError::Destination {
            dest: dest.to_path_buf(),
            errno,
        })?;
        let openat2 = match resolver {
            Resolver::InRootWalk => false,
            Resolver::Openat2 => {
                probe_openat2(&fd).map_err(|errno| UnpackError::Openat2Unavailable { errno })?;
                true
            }
            Resolver::Auto => openat2_available(&fd),
        };
        Ok(Root {
            fd: Rc::new(fd),
            openat2,
            cache: None,
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether lookups go through openat2.
    pub(crate) fn uses_openat2(&self) -> bool {
        self.openat2
    }

    /// Forgets the cached directory: called whenever an entry removed
    /// something, because then a path may lead somewhere else.
    pub(crate) fn forget(&mut self) {
        self.cache = None;
    }

    // ANCHOR: dir
    /// The directory at `path` (cleaned, relative; `""` is the root) inside
    /// the root, as an O_PATH fd; missing directories are made if `create`.
    pub(crate) fn dir(&mut self, path: &[u8], create: bool) -> Result<Rc<OwnedFd>, ResolveError> {
        if path.is_empty() {
            return Ok(self.fd.clone());
        }
        if let Some((cached, fd)) = &self.cache {
            if cached == path {
                return Ok(fd.clone());
            }
        }
        let found = if self.openat2 {
            match self.openat2_dir(path) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) if create => self.openat2_create(path)?,
                Err(Errno::ENOENT) => return Err(ResolveError::Missing),
                Err(Errno::ENOTDIR) => return Err(ResolveError::NotADirectory(path.to_vec())),
                Err(Errno::ELOOP) => return Err(ResolveError::Loop),
                Err(Errno::EAGAIN) => self.walk(path, create)?,
                Err(errno) => return Err(ResolveError::Sys("openat2", errno)),
            }
        } else {
            self.walk(path, create)?
        };
        let found = Rc::new(found);
        match &mut self.cache {
            Some((cached, fd)) => {
                cached.clear();
                cached.extend_from_slice(path);
                *fd = found.clone();
            }
            None => self.cache = Some((path.to_vec(), found.clone())),
        }
        Ok(found)
    }
    // ANCHOR_END: dir

    // ANCHOR: openat2
    /// One openat2 call: the kernel resolves `path` with our root fd as `/`.
    fn openat2_dir(&self, path: &[u8]) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            // IN_ROOT: "/" and ".." stop at our root fd, absolute symlinks restart
            // there; NO_MAGICLINKS: no /proc/self/fd/N-style jumps out of it.
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let mut tries = 0;
        loop {
            match openat2(self.fd.as_fd(), path, how) {
                Err(Errno::EAGAIN) if tries < EAGAIN_TRIES => tries += 1,
                result => return result,
            }
        }
    }
    // ANCHOR_END: openat2

    /// openat2 cannot create: look up longer and longer prefixes, make the
    /// first missing one with mkdirat in the directory before it, and where
    /// a name exists but does not resolve (a symlink to a missing directory)
    /// put its target in its place and start over.
    fn openat2_create(&self, path: &[u8]) -> Result<OwnedFd, ResolveError> {
        let mut path = path.to_vec();
        let mut hops = 0;
        'restart: loop {
            let mut dir: Option<OwnedFd> = None; // None: the root
            let mut start = 0;
            while start < path.len() {
                let end = path[start..]
                    .iter()
                    .position(|&b| b == b'/')
                    .map_or(path.len(), |i| start + i);
                let name = &path[start..end];
                if name.is_empty() || name == b"." {
                    start = end + 1;
                    continue;
                }
                let found = match self.openat2_dir(&path[..end]) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT) => {
                        let here = dir.as_ref().map_or(self.fd.as_fd(), |d| d.as_fd());
                        match mkdirat(here, name, Mode::from_bits_truncate(0o755)) {
                            Ok(()) => open_child_dir(here, name)?,
                            Err(Errno::EEXIST) => {
                                // It exists but did not resolve: a dangling symlink.
                                hops += 1;
                                if hops > MAX_HOPS {
                                    return Err(ResolveError::Loop);
                                }
                                let target = match readlinkat(here, name) {
                                    Ok(target) => target,
                                    Err(Errno::EINVAL) => continue 'restart, // changed meanwhile
                                    Err(errno) => {
                                        return Err(ResolveError::Sys("readlinkat", errno))
                                    }
                                };
                                let target = target.as_bytes();
                                let mut next = if target.first() == Some(&b'/') {
                                    Vec::new()
                                } else {
                                    path[..start].to_vec()
                                };
                                next.extend_from_slice(target);
                                if end < path.len() {
                                    next.extend_from_slice(&path[end..]);
                                }
                                path = next;
                                continue 'restart;
                            }
                            Err(errno) => return Err(ResolveError::Sys("mkdirat", errno)),
                        }
                    }
                    Err(Errno::ENOTDIR) => {
                        return Err(ResolveError::NotADirectory(path[..end].to_vec()))
                    }
                    Err(Errno::ELOOP) => return Err(ResolveError::Loop),
                    Err(errno) => return Err(ResolveError::Sys("openat2", errno)),
                };
                dir = Some(found);
                start = end + 1;
            }
            return match dir {
                Some(fd) => Ok(fd),
                None => dup(&self.fd),
            };
        }
    }

    /// The in-root walk: openat2's job done one component at a time.
    fn walk(&self, path: &[u8], create: bool) -> Result<OwnedFd, ResolveError> {
        let mut stack: Vec<OwnedFd> = Vec::new(); // empty: at the root
        let mut todo: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
        let mut hops = 0;
        let mut made = 0;
        while let Some(name) = todo.pop() {
            if name == b".." {
                stack.pop(); // `..` of the root is the root: we never climb out
                continue;
            }
            // ANCHOR: walk_step
            let here = stack.last().map_or(self.fd.as_fd(), |fd| fd.as_fd());
            // O_NOFOLLOW with O_PATH opens a symlink itself: we decide where it leads.
            let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            match openat(here, name.as_slice(), flags, Mode::empty()) {
                Ok(fd) => {
                    let kind = file_kind(&fd)?;
                    if kind == SFlag::S_IFDIR {
                        stack.push(fd);
                    } else if kind == SFlag::S_IFLNK {
                        hops += 1;
                        if hops > MAX_HOPS {
                            return Err(ResolveError::Loop);
                        }
                        // "" reads the link the fd holds, not whatever has the name now.
                        let target = readlinkat(&fd, "")
                            .map_err(|errno| ResolveError::Sys("readlinkat", errno))?;
                        let target = target.as_bytes();
                        if target.first() == Some(&b'/') {
                            stack.clear(); // an absolute target starts again at *our* root
                        }
                        todo.extend(components(target).rev().map(<[u8]>::to_vec));
                    } else {
                        return Err(ResolveError::NotADirectory(name));
                    }
                }
                // ANCHOR_END: walk_step
                Err(Errno::ENOENT) if create => {
                    match mkdirat(here, name.as_slice(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(errno) => return Err(ResolveError::Sys("mkdirat", errno)),
                    }
                    made += 1;
                    if made > MAX_NAME_COMPONENTS {
                        return Err(ResolveError::Loop);
                    }
                    todo.push(name); // now open what we made (or what raced us to it)
                }
                Err(Errno::ENOENT) => return Err(ResolveError::Missing),
                Err(errno) => return Err(ResolveError::Sys("openat", errno)),
            }
        }
        match stack.pop() {
            Some(fd) => Ok(fd),
            None => dup(&self.fd),
        }
    }
}

/// A bound on directories one lookup may create (a 4096-byte name has at
/// most 2048 components; symlink targets add at most 40 more names each).
const MAX_NAME_COMPONENTS: u32 = 4096;

/// The non-empty, non-`.` components of a path.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

fn file_kind(fd: &OwnedFd) -> Result<SFlag, ResolveError> {
    let stat = fstat(fd).map_err(|errno| ResolveError::Sys("fstat", errno))?;
    Ok(SFlag::from_bits_truncate(
        stat.st_mode & SFlag::S_IFMT.bits(),
    ))
}

/// Opens a directory we just made; O_NOFOLLOW because a racing rename could
/// have put a symlink there.
fn open_child_dir(parent: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, ResolveError> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    openat(parent, name, flags, Mode::empty()).map_err(|errno| match errno {
        Errno::ENOTDIR | Errno::ELOOP => ResolveError::NotADirectory(name.to_vec()),
        errno => ResolveError::Sys("openat", errno),
    })
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, ResolveError> {
    fd.try_clone()
        .map_err(|err| ResolveError::Sys("dup", Errno::from_raw(err.raw_os_error().unwrap_or(0))))
}

/// One openat2 of "." under the root: does this kernel (and seccomp filter)
/// let us use it?
fn probe_openat2(root: &OwnedFd) -> Result<(), Errno> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT);
    openat2(root.as_fd(), ".", how).map(drop)
}

fn openat2_available(root: &OwnedFd) -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    // ENOSYS before 5.6; EPERM under seccomp profiles that predate openat2.
    *AVAILABLE.get_or_init(|| probe_openat2(root).is_ok())
}
