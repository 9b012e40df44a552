//! The content-addressed store: every blob under its digest, every layer
//! unpacked once, and a small refs file that gives images their names.
//!
//! ```text
//! /var/lib/minibox/               (--root DIR)
//! ├── blobs/sha256/<hex>          manifests, indexes, configs, compressed layers — named by their sha256
//! ├── layers/sha256/<hex>/        each layer unpacked, named by its DiffID; chapter 04 stacks these
//! ├── refs.json                   docker.io/library/busybox:latest → manifest digest (and platform)
//! ├── refs.lock                   flock(2)ed while refs.json is rewritten
//! ├── lock                        flock(2)ed shared by every user of the store, exclusive by gc
//! └── tmp/                        blobs and layers being written; renamed into place when complete
//! ```
//!
//! Nothing appears under `blobs/` or `layers/` until it is complete and
//! verified: a blob is written to `tmp/`, hashed while it streams, fsync'd
//! and renamed; a layer is unpacked into `tmp/` and renamed. A process
//! killed halfway leaves only `tmp/` debris, which the next process that
//! has the store to itself (or `gc`) removes.

mod blob;
mod gc;
mod image;
mod layers;
mod lock;
mod refs;

pub use blob::BlobWriter;
pub use gc::GcReport;
pub(crate) use image::descriptor_digest;
pub use image::{Image, ImageSummary};
pub use refs::RefEntry;

use crate::error::StoreError;
use crate::unpack::UnpackOptions;
use ch01_chroot::Narrator;
use lock::StoreLock;
use std::fs;
use std::path::{Path, PathBuf};

/// The engine's default store (`--root` changes it).
pub const DEFAULT_ROOT: &str = "/var/lib/minibox";

/// The most a manifest, index or config may weigh: real ones are a few KiB,
/// and a hostile registry must not make us allocate gigabytes.
pub const DOCUMENT_CAP: u64 = 4 * 1024 * 1024;

/// An open image store. While it is open it holds a shared lock on the
/// store, so `gc` (which needs it exclusively) never deletes a blob that an
/// import, a pull or a running container is using.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    lock: StoreLock,
    unpack: UnpackOptions,
    narrator: Narrator,
}

impl Store {
    /// Opens the store at `root`, creating its layout if needed.
    ///
    /// If nobody else is using the store, leftovers of a killed import in
    /// `tmp/` are removed now.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_with(root, Narrator::silent())
    }

    /// [`Store::open`], narrating what the store does (locks, unpacking, gc).
    pub fn open_with(root: &Path, narrator: Narrator) -> Result<Store, StoreError> {
        for dir in [
            root.to_path_buf(),
            root.join("blobs/sha256"),
            root.join("layers/sha256"),
            root.join("tmp"),
        ] {
            fs::create_dir_all(&dir).map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied => StoreError::NotWritable(root.to_path_buf()),
                _ => StoreError::io("creating", &dir)(e),
            })?;
        }
        let lock = StoreLock::shared(&root.join("lock"), &narrator)?;
        let root_user = nix::unistd::geteuid().is_root();
        let store = Store {
            root: root.to_path_buf(),
            lock,
            unpack: UnpackOptions {
                // As root the layers get overlayfs's trusted.* whiteouts;
                // otherwise only user.* (mounted with `userxattr`) can be written.
                whiteouts: if root_user {
                    ch04_overlay::XattrNamespace::Trusted
                } else {
                    ch04_overlay::XattrNamespace::User
                },
                same_owner: root_user,
                ..UnpackOptions::default()
            },
            narrator,
        };
        if store.lock.try_exclusive()? {
            let removed = store.clear_tmp()?;
            store.lock.back_to_shared()?;
            if removed > 0 {
                store.narrator.observe(&format!(
                    "removed {removed} leftover(s) of an interrupted import from {}",
                    store.tmp_dir().display()
                ));
            }
        }
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How layers are unpacked (whiteout xattrs, size cap, resolver, ownership).
    pub fn unpack_options(&self) -> &UnpackOptions {
        &self.unpack
    }

    /// Changes how layers are unpacked from now on (e.g. a size cap).
    pub fn set_unpack_options(&mut self, options: UnpackOptions) {
        self.unpack = options;
    }

    pub fn narrator(&self) -> &Narrator {
        &self.narrator
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    pub(crate) fn layers_dir(&self) -> PathBuf {
        self.root.join("layers/sha256")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn refs_path(&self) -> PathBuf {
        self.root.join("refs.json")
    }

    /// Removes everything in `tmp/`. Only with the store to ourselves.
    fn clear_tmp(&self) -> Result<usize, StoreError> {
        let tmp = self.tmp_dir();
        let mut removed = 0;
        for entry in fs::read_dir(&tmp).map_err(StoreError::io("reading", &tmp))? {
            let path = entry.map_err(StoreError::io("reading", &tmp))?.path();
            let gone = if path.is_dir() && !path.is_symlink() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            gone.map_err(StoreError::io("removing", &path))?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// fsync(2) of a directory: makes a rename into it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let handle = fs::File::open(dir).map_err(StoreError::io("opening", dir))?;
    handle.sync_all().map_err(StoreError::io("fsync of", dir))
}
