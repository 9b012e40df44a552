//! One tar entry at a time: find its parent inside the root, then make the
//! last component with a `*at()` call relative to that parent's fd — never
//! by a path the kernel would resolve on the host, never through a symlink.

use super::error::{shown, UnpackError};
use super::metadata::{self, Metadata};
use super::path::{clean, split};
use super::resolve::{ResolveError, Root};
use super::whiteout::{self, Whiteout};
use super::xattr::{self, Xattr};
use super::UnpackOptions;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstatat, futimens, makedev, mknodat, Mode, SFlag};
use nix::unistd::{linkat, symlinkat, unlinkat, UnlinkatFlags};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Contents are copied through one buffer of this size, reused by every file.
const COPY_BUFFER: usize = 1024 * 1024;

/// At most this many warnings are kept as text (all are counted).
const MAX_NOTES: usize = 16;

/// Why an entry stopped the unpack: the stream under it failed (classified
/// by the caller: decoder, size cap, or a malformed tar), or the entry itself
/// was refused.
#[derive(Debug)]
pub(crate) enum Failure {
    Read(io::Error),
    Refused(UnpackError),
}

impl From<UnpackError> for Failure {
    fn from(err: UnpackError) -> Self {
        Failure::Refused(err)
    }
}

/// What the tar says an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Device(SFlag),
    Fifo,
}

/// A directory whose mode and times are set once everything in it exists
/// (creating a file inside bumps a directory's mtime; a 0555 directory
/// would refuse files to anyone but root).
#[derive(Debug)]
struct Deferred {
    path: Vec<u8>,
    meta: Metadata,
}

/// Counted, not fatal: what a layer asked for that we left out or changed.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    pub(crate) skipped_devices: u64,
    pub(crate) skipped_xattrs: u64,
    pub(crate) contained_paths: u64,
    pub(crate) notes: Vec<String>,
}

impl Warnings {
    fn note(&mut self, text: impl FnOnce() -> String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(text());
        }
    }
}

/// The state of one unpack: the root, the deferred directories and the
/// buffers every entry reuses.
pub(crate) struct Unpacker<'o> {
    root: Root,
    options: &'o UnpackOptions,
    deferred: Vec<Deferred>,
    buffer: Vec<u8>,
    /// The current entry's cleaned name, and a hardlink's cleaned target.
    name: Vec<u8>,
    link: Vec<u8>,
    xattrs: Vec<Xattr>,
    pub(crate) entries: u64,
    pub(crate) warnings: Warnings,
}

impl<'o> Unpacker<'o> {
    pub(crate) fn new(root: Root, options: &'o UnpackOptions) -> Self {
        Unpacker {
            root,
            options,
            deferred: Vec::new(),
            buffer: vec![0; COPY_BUFFER],
            name: Vec::with_capacity(256),
            link: Vec::with_capacity(256),
            xattrs: Vec::new(),
            entries: 0,
            warnings: Warnings::default(),
        }
    }

    /// The name of the entry being unpacked, for errors.
    pub(crate) fn current(&self) -> Option<String> {
        (self.entries > 0).then(|| shown(&self.name))
    }

    /// Unpacks one entry.
    pub(crate) fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), Failure> {
        let typeflag = entry.header().as_bytes()[156];
        if typeflag == b'g' {
            return Ok(()); // a PAX global header: describes the archive, not a file
        }
        self.entries += 1;
        let raw = entry.path_bytes();
        let climbed = clean(&raw, &mut self.name).map_err(|problem| UnpackError::BadName {
            entry: shown(&raw),
            problem: problem.describe(),
        })?;
        let trailing_slash = raw.ends_with(b"/");
        drop(raw);
        if climbed {
            // `../x` is contained (made `x`), as containerd and umoci do.
            self.warnings.contained_paths += 1;
            let name = shown(&self.name);
            self.warnings
                .note(|| format!("{name:?}: a `..` above the root was dropped"));
        }
        // ANCHOR: typeflags
        let kind = match typeflag {
            b'0' | b'7' | b'S' => Kind::File, // regular, contiguous, GNU sparse (expanded by tar)
            b'\0' if trailing_slash => Kind::Dir, // pre-POSIX tars mark directories by a slash
            b'\0' => Kind::File,
            b'5' => Kind::Dir,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Device(SFlag::S_IFCHR),
            b'4' => Kind::Device(SFlag::S_IFBLK),
            b'6' => Kind::Fifo,
            other => {
                return Err(UnpackError::UnknownType {
                    entry: shown(&self.name),
                    typeflag: char::from(other),
                }
                .into())
            }
        };
        // ANCHOR_END: typeflags
        let meta = self.read_pax(entry)?;
        // ANCHOR: dispatch
        let (parent, base) = split(&self.name);
        if base.is_empty() {
            return self.layer_root(kind, meta);
        }
        if whiteout::classify(base).is_some() {
            return self.whiteout();
        }
        let parent = self
            .root
            .dir(parent, true)
            .map_err(|e| resolve_error(&self.name, e))?;
        match kind {
            Kind::File => self.file(parent.as_fd(), entry, &meta),
            Kind::Dir => self.directory(parent.as_fd(), &meta),
            Kind::Symlink => self.symlink(parent.as_fd(), entry, &meta),
            Kind::Hardlink => self.hardlink(parent.as_fd(), entry),
            Kind::Device(_) | Kind::Fifo => self.special(parent.as_fd(), entry, kind, &meta),
        }
        // ANCHOR_END: dispatch
    }

    /// The entry's PAX records: its xattrs (into `self.xattrs`) and its mtime.
    fn read_pax<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<Metadata, Failure> {
        self.xattrs.clear();
        let mut pax_mtime = None;
        let mut refused = 0;
        if let Some(records) = entry.pax_extensions().map_err(Failure::Read)? {
            for record in records {
                let record = record.map_err(Failure::Read)?;
                let (key, value) = (record.key_bytes(), record.value_bytes());
                if key == b"mtime" {
                    pax_mtime = Some(value.to_vec());
                } else {
                    refused += xattr::from_pax(std::iter::once((key, value)), &mut self.xattrs);
                }
            }
        }
        if refused > 0 {
            self.warnings.skipped_xattrs += refused;
            let name = shown(&self.name);
            self.warnings
                .note(|| format!("{name:?}: overlay-private xattrs in the tar were left out"));
        }
        Metadata::from_header(entry.header(), pax_mtime.as_deref()).ok_or_else(|| {
            Failure::Refused(UnpackError::Malformed {
                after: Some(shown(&self.name)),
                cause: "a number field of its header is not a number".into(),
            })
        })
    }

    /// `./` — the layer root itself: its owner and xattrs now, mode and
    /// times at the end.
    fn layer_root(&mut self, kind: Kind, meta: Metadata) -> Result<(), Failure> {
        if kind != Kind::Dir {
            return Err(UnpackError::BadName {
                entry: shown(&self.name),
                problem: "names the layer root but is not a directory",
            }
            .into());
        }
        let root = reopen_readable(self.root.fd(), &self.name)?;
        self.own_dir(root.as_fd(), &meta)?;
        self.deferred.push(Deferred {
            path: Vec::new(),
            meta,
        });
        Ok(())
    }

    fn whiteout(&mut self) -> Result<(), Failure> {
        let (parent, base) = split(&self.name);
        let Some(whiteout) = whiteout::classify(base) else {
            return Ok(());
        };
        let entry = &self.name;
        let fail = |what, errno, hint| UnpackError::Syscall {
            entry: shown(entry),
            what,
            errno,
            hint,
        };
        match whiteout {
            Whiteout::Opaque => {
                let dir = self
                    .root
                    .dir(parent, true)
                    .map_err(|e| resolve_error(entry, e))?;
                whiteout::make_opaque(dir.as_fd(), self.options.whiteouts).map_err(|errno| {
                    let hint =
                        " — in a user namespace use XattrNamespace::User (overlay's userxattr)";
                    fail("setting the opaque xattr", errno, hint)
                })?;
            }
            Whiteout::Hides(hidden) => {
                let dir = self
                    .root
                    .dir(parent, true)
                    .map_err(|e| resolve_error(entry, e))?;
                whiteout::hide(dir.as_fd(), hidden).map_err(|errno| {
                    let hint = " — whiteouts need root, or Linux 5.8+ in a user namespace";
                    fail("making a whiteout (mknodat 0/0)", errno, hint)
                })?;
            }
            Whiteout::AufsMeta => {
                let name = shown(entry);
                self.warnings
                    .note(|| format!("{name:?}: aufs metadata, skipped"));
            }
            Whiteout::Invalid => {
                return Err(UnpackError::BadName {
                    entry: shown(entry),
                    problem: "is a whiteout of nothing",
                }
                .into())
            }
        }
        Ok(())
    }

    // ANCHOR: file
    // ANCHOR: file_create
    fn file<R: Read>(
        &mut self,
        parent: BorrowedFd<'_>,
        entry: &mut tar::Entry<'_, R>,
        meta: &Metadata,
    ) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        // O_EXCL|O_NOFOLLOW: we make a new inode, never open one a symlink leads to.
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let open = || openat(parent, base, flags, Mode::from_bits_truncate(0o600));
        let fd = match open() {
            Err(Errno::EEXIST) => {
                make_room(&mut self.root, parent, base, &self.name)?;
                open()
            }
            other => other,
        }
        .map_err(syscall(
            &self.name,
            "creating the file (openat O_CREAT|O_EXCL)",
        ))?;
        // ANCHOR_END: file_create
        // ANCHOR: file_fill
        let mut file = File::from(fd);
        loop {
            let n = match entry.read(&mut self.buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Failure::Read(err)),
            };
            file.write_all(&self.buffer[..n])
                .map_err(|cause| UnpackError::Write {
                    entry: shown(&self.name),
                    cause,
                })?;
        }
        // chown, then chmod (chown cleared setuid), then xattrs (chown and
        // writes clear security.capability), then the times.
        metadata::own_fd(
            file.as_fd(),
            &self.name,
            meta,
            self.options.same_owner,
            true,
        )?;
        self.set_xattrs_fd(file.as_fd())?;
        metadata::times_fd(file.as_fd(), &self.name, meta)?;
        Ok(())
    }
    // ANCHOR_END: file_fill
    // ANCHOR_END: file

    // ANCHOR: directory
    fn directory(&mut self, parent: BorrowedFd<'_>, meta: &Metadata) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        let mut opaque = false;
        // 0700 for now: its real mode comes at the end (see `finish`).
        let mkdir = || nix::sys::stat::mkdirat(parent, base, Mode::from_bits_truncate(0o700));
        match mkdir() {
            Ok(()) => {}
            Err(Errno::EEXIST) => {
                let existing = fstatat(parent, base, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(syscall(&self.name, "fstatat"))?;
                let kind = SFlag::from_bits_truncate(existing.st_mode & SFlag::S_IFMT.bits());
                // A directory stays a directory (tar, containerd, umoci): only
                // its metadata changes. Anything else gives way to it.
                if kind != SFlag::S_IFDIR {
                    // A directory replacing this layer's own whiteout of the same
                    // name: the lower one's contents must stay hidden.
                    opaque = kind == SFlag::S_IFCHR && existing.st_rdev == 0;
                    make_room(&mut self.root, parent, base, &self.name)?;
                    mkdir().map_err(syscall(&self.name, "mkdirat"))?;
                }
            }
            Err(errno) => return Err(syscall(&self.name, "mkdirat")(errno).into()),
        }
        let dir = openat(
            parent,
            base,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(syscall(&self.name, "opening the new directory"))?;
        self.own_dir(dir.as_fd(), meta)?;
        if opaque {
            whiteout::make_opaque(dir.as_fd(), self.options.whiteouts)
                .map_err(syscall(&self.name, "setting the opaque xattr"))?;
        }
        self.deferred.push(Deferred {
            path: self.name.clone(),
            meta: *meta,
        });
        Ok(())
    }
    // ANCHOR_END: directory

    fn own_dir(&mut self, dir: BorrowedFd<'_>, meta: &Metadata) -> Result<(), Failure> {
        metadata::own_fd(dir, &self.name, meta, self.options.same_owner, false)?;
        self.set_xattrs_fd(dir)
    }

    // ANCHOR: symlink
    fn symlink<R: Read>(
        &mut self,
        parent: BorrowedFd<'_>,
        entry: &tar::Entry<'_, R>,
        meta: &Metadata,
    ) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        let Some(target) = entry.link_name_bytes() else {
            return Err(self.malformed("a symlink without a target"));
        };
        // The target is stored as the tar says: it is only ever followed
        // inside a root (ours while unpacking, the container's at run time).
        let link = || symlinkat(&*target, parent, base);
        match link() {
            Err(Errno::EEXIST) => {
                make_room(&mut self.root, parent, base, &self.name)?;
                link()
            }
            other => other,
        }
        .map_err(syscall(&self.name, "symlinkat"))?;
        metadata::own_at(
            parent,
            base,
            &self.name,
            meta,
            self.options.same_owner,
            false,
        )?;
        self.set_xattrs_at(parent)?;
        metadata::times_at(parent, split(&self.name).1, &self.name, meta)?;
        Ok(())
    }
    // ANCHOR_END: symlink

    // ANCHOR: hardlink
    // ANCHOR: hardlink_target
    fn hardlink<R: Read>(
        &mut self,
        parent: BorrowedFd<'_>,
        entry: &tar::Entry<'_, R>,
    ) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        let Some(target) = entry.link_name_bytes() else {
            return Err(self.malformed("a hardlink without a target"));
        };
        let outside = || UnpackError::HardlinkOutsideLayer {
            entry: shown(&self.name),
            target: shown(&target),
        };
        // The target is a name in this layer: cleaned like an entry name and
        // resolved inside the root, never created.
        clean(&target, &mut self.link).map_err(|_| outside())?;
        let (link_parent, link_base) = split(&self.link);
        if link_base.is_empty() {
            return Err(outside().into());
        }
        let source = match self.root.dir(link_parent, false) {
            Ok(dir) => dir,
            Err(ResolveError::Missing | ResolveError::NotADirectory(_)) => {
                return Err(outside().into())
            }
            Err(err) => return Err(resolve_error(&self.name, err).into()),
        };
        // ANCHOR_END: hardlink_target
        // ANCHOR: hardlink_link
        // flags 0 (no AT_SYMLINK_FOLLOW): if the target is a symlink we link
        // the symlink itself, never the file it points to.
        let link = || linkat(source.as_fd(), link_base, parent, base, AtFlags::empty());
        let linked = match link() {
            Err(Errno::EEXIST) => {
                make_room(&mut self.root, parent, base, &self.name)?;
                link()
            }
            other => other,
        };
        match linked {
            Ok(()) => Ok(()),
            Err(Errno::ENOENT) => Err(outside().into()),
            Err(Errno::EPERM) => Err(UnpackError::HardlinkToDirectory {
                entry: shown(&self.name),
                target: shown(&target),
            }
            .into()),
            Err(errno) => Err(syscall(&self.name, "linkat")(errno).into()),
        }
    }
    // ANCHOR_END: hardlink_link
    // ANCHOR_END: hardlink

    /// Device nodes and fifos.
    fn special<R: Read>(
        &mut self,
        parent: BorrowedFd<'_>,
        entry: &tar::Entry<'_, R>,
        kind: Kind,
        meta: &Metadata,
    ) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        let (flag, dev) = match kind {
            Kind::Device(flag) => {
                let header = entry.header();
                match (header.device_major(), header.device_minor()) {
                    (Ok(Some(major)), Ok(Some(minor))) => {
                        (flag, makedev(major.into(), minor.into()))
                    }
                    _ => return Err(self.malformed("a device without a device number")),
                }
            }
            _ => (SFlag::S_IFIFO, 0),
        };
        // ANCHOR: special
        let make = || mknodat(parent, base, flag, Mode::from_bits_truncate(0o600), dev);
        let made = match make() {
            Err(Errno::EEXIST) => {
                make_room(&mut self.root, parent, base, &self.name)?;
                make()
            }
            other => other,
        };
        match made {
            Ok(()) => {}
            // Only real root may make devices: in a user namespace (rootless)
            // skip them, as podman and umoci --rootless do; /dev comes from the runtime.
            Err(Errno::EPERM) if flag != SFlag::S_IFIFO => {
                self.warnings.skipped_devices += 1;
                let name = shown(&self.name);
                self.warnings
                    .note(|| format!("{name:?}: device node skipped (no CAP_MKNOD here)"));
                return Ok(());
            }
            Err(errno) => return Err(syscall(&self.name, "mknodat")(errno).into()),
        }
        // ANCHOR_END: special
        metadata::own_at(
            parent,
            base,
            &self.name,
            meta,
            self.options.same_owner,
            true,
        )?;
        self.set_xattrs_at(parent)?;
        metadata::times_at(parent, split(&self.name).1, &self.name, meta)?;
        Ok(())
    }

    fn set_xattrs_fd(&mut self, fd: BorrowedFd<'_>) -> Result<(), Failure> {
        let skipped = xattr::set_on_fd(fd, &self.xattrs)
            .map_err(|(errno, name)| self.xattr_error(errno, name))?;
        self.count_skipped_xattrs(skipped);
        Ok(())
    }

    fn set_xattrs_at(&mut self, parent: BorrowedFd<'_>) -> Result<(), Failure> {
        let (_, base) = split(&self.name);
        let skipped = xattr::set_at(parent, base, &self.xattrs)
            .map_err(|(errno, name)| self.xattr_error(errno, name))?;
        self.count_skipped_xattrs(skipped);
        Ok(())
    }

    fn count_skipped_xattrs(&mut self, skipped: u64) {
        if skipped > 0 {
            self.warnings.skipped_xattrs += skipped;
            let name = shown(&self.name);
            self.warnings.note(|| {
                format!("{name:?}: {skipped} xattr(s) this filesystem or user cannot hold, skipped")
            });
        }
    }

    fn xattr_error(&self, errno: Errno, name: String) -> Failure {
        Failure::Refused(UnpackError::Xattr {
            entry: shown(&self.name),
            name,
            errno,
        })
    }

    fn malformed(&self, cause: &str) -> Failure {
        Failure::Refused(UnpackError::Malformed {
            after: Some(shown(&self.name)),
            cause: cause.to_string(),
        })
    }

    // ANCHOR: finish
    /// Modes and times of the directories, once all their contents exist;
    /// the newest entry for a path wins. Each is looked up again inside the
    /// root: a later entry may have replaced it, and then it is skipped.
    pub(crate) fn finish(&mut self) -> Result<(), UnpackError> {
        let deferred = std::mem::take(&mut self.deferred);
        let mut done: HashSet<&[u8]> = HashSet::with_capacity(deferred.len());
        for fix in deferred.iter().rev() {
            if !done.insert(&fix.path) {
                continue;
            }
            let (parent, base) = split(&fix.path);
            let dir = if base.is_empty() {
                reopen_readable(self.root.fd(), &fix.path)?
            } else {
                let parent = match self.root.dir(parent, false) {
                    Ok(parent) => parent,
                    Err(ResolveError::Missing | ResolveError::NotADirectory(_)) => continue,
                    Err(err) => return Err(resolve_error(&fix.path, err)),
                };
                let flags =
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                match openat(parent.as_fd(), base, flags, Mode::empty()) {
                    Ok(dir) => dir,
                    Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => continue,
                    Err(errno) => return Err(syscall(&fix.path, "opening a directory")(errno)),
                }
            };
            fchmod(dir.as_fd(), Mode::from_bits_retain(fix.meta.mode))
                .map_err(syscall(&fix.path, "fchmod"))?;
            futimens(dir.as_fd(), &fix.meta.mtime, &fix.meta.mtime)
                .map_err(syscall(&fix.path, "futimens"))?;
        }
        Ok(())
    }
    // ANCHOR_END: finish

    /// Whether lookups went through openat2 (for the caller's narration).
    pub(crate) fn used_openat2(&self) -> bool {
        self.root.uses_openat2()
    }
}

// ANCHOR: make_room
/// An entry replaces what an earlier entry put at its name, as tar does:
/// a file or link is unlinked, a directory is removed with all it holds
/// (by fd, so a symlink planted inside cannot redirect the removal).
fn make_room(
    root: &mut Root,
    parent: BorrowedFd<'_>,
    base: &[u8],
    entry: &[u8],
) -> Result<(), Failure> {
    remove_all_at(parent, base, 0).map_err(syscall(entry, "removing what was there"))?;
    // Paths through what we removed may now lead elsewhere.
    root.forget();
    Ok(())
}
// ANCHOR_END: make_room

/// The directory behind an O_PATH fd, opened for reading (fchmod, fsetxattr).
fn reopen_readable(dir: BorrowedFd<'_>, entry: &[u8]) -> Result<OwnedFd, UnpackError> {
    openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(syscall(entry, "opening the layer root"))
}

/// Directories nested deeper than this are not removed (a 4096-byte name
/// nests at most 2048).
const MAX_DEPTH: u32 = 4096;

/// `rm -rf` of `name` in `parent`, by fd: each directory is opened with
/// O_NOFOLLOW and emptied through its own fd.
fn remove_all_at(parent: BorrowedFd<'_>, name: &[u8], depth: u32) -> Result<(), Errno> {
    match unlinkat(parent, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) if depth < MAX_DEPTH => {}
        Err(errno) => return Err(errno),
    }
    let fd = openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut dir = nix::dir::Dir::from_fd(fd)?;
    let names: Vec<Vec<u8>> = dir
        .iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_bytes().to_vec())
        .filter(|n| n != b"." && n != b"..")
        .collect();
    for child in &names {
        remove_all_at(dir.as_fd(), child, depth + 1)?;
    }
    unlinkat(parent, name, UnlinkatFlags::RemoveDir)
}

fn syscall<'a>(entry: &'a [u8], what: &'static str) -> impl FnOnce(Errno) -> UnpackError + 'a {
    move |errno| UnpackError::Syscall {
        entry: shown(entry),
        what,
        errno,
        hint: "",
    }
}

pub(crate) fn resolve_error(entry: &[u8], err: ResolveError) -> UnpackError {
    match err {
        ResolveError::Missing => syscall(entry, "finding its directory")(Errno::ENOENT),
        ResolveError::NotADirectory(component) => UnpackError::NotADirectory {
            entry: shown(entry),
            component: shown(&component),
        },
        ResolveError::Loop => UnpackError::SymlinkLoop {
            entry: shown(entry),
        },
        ResolveError::Sys(what, errno) => syscall(entry, what)(errno),
    }
}
