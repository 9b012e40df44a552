//! What the unpack tests share: a tar builder that writes any name (also the
//! hostile ones `tar::Builder` refuses), compression, a scratch directory
//! with a marker and an "outside" directory next to the layer, and a
//! snapshot of everything outside the layer to prove nothing changed.
#![allow(dead_code)]
// each test binary uses a different subset
// Test helpers: a failing unwrap is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ch05_images::unpack::{unpack_layer, Resolver, UnpackError, UnpackOptions, Unpacked};
use ch05_images::Compression;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Both resolvers: every hostile test runs once with each.
pub const RESOLVERS: [Resolver; 2] = [Resolver::Openat2, Resolver::InRootWalk];

/// A fixed mtime, so layers are byte-for-byte deterministic.
pub const MTIME: u64 = 1_700_000_000;

/// Builds a layer tar entry by entry, with raw names: `../x`, `/etc/x`.
pub struct Layer {
    builder: tar::Builder<Vec<u8>>,
    device: Option<(u32, u32)>,
}

/// Owner and mode of an entry.
#[derive(Clone, Copy)]
pub struct Attrs {
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
    pub mtime: u64,
}

pub const ROOT_0755: Attrs = Attrs {
    uid: 0,
    gid: 0,
    mode: 0o755,
    mtime: MTIME,
};
pub const ROOT_0644: Attrs = Attrs {
    uid: 0,
    gid: 0,
    mode: 0o644,
    mtime: MTIME,
};

impl Default for Layer {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer {
    pub fn new() -> Self {
        Layer {
            builder: tar::Builder::new(Vec::new()),
            device: None,
        }
    }

    /// The general case: any type, name, link name, PAX records, contents.
    pub fn entry(
        &mut self,
        kind: tar::EntryType,
        name: &str,
        link: Option<&str>,
        attrs: Attrs,
        pax: &[(&str, &[u8])],
        data: &[u8],
    ) -> &mut Self {
        let mut records: Vec<(&str, &[u8])> = pax.to_vec();
        if name.len() > 99 {
            records.push(("path", name.as_bytes()));
        }
        if let Some(link) = link.filter(|l| l.len() > 99) {
            records.push(("linkpath", link.as_bytes()));
        }
        if !records.is_empty() {
            self.builder.append_pax_extensions(records).unwrap();
        }
        let mut header = tar::Header::new_ustar();
        // Raw bytes: `set_path` refuses `..`, which is the point of these tests.
        let short = &name.as_bytes()[..name.len().min(99)];
        header.as_old_mut().name[..short.len()].copy_from_slice(short);
        if let Some(link) = link {
            let short = &link.as_bytes()[..link.len().min(99)];
            header.set_link_name_literal(short).unwrap();
        }
        header.set_entry_type(kind);
        header.set_uid(attrs.uid);
        header.set_gid(attrs.gid);
        header.set_mode(attrs.mode);
        header.set_mtime(attrs.mtime);
        header.set_size(data.len() as u64);
        if let Some((major, minor)) = self.device.take() {
            header.set_device_major(major).unwrap();
            header.set_device_minor(minor).unwrap();
        }
        header.set_cksum();
        self.builder.append(&header, data).unwrap();
        self
    }

    pub fn dir(&mut self, name: &str, attrs: Attrs) -> &mut Self {
        self.entry(tar::EntryType::Directory, name, None, attrs, &[], b"")
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(tar::EntryType::Regular, name, None, ROOT_0644, &[], data)
    }

    pub fn file_with(
        &mut self,
        name: &str,
        attrs: Attrs,
        pax: &[(&str, &[u8])],
        data: &[u8],
    ) -> &mut Self {
        self.entry(tar::EntryType::Regular, name, None, attrs, pax, data)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let attrs = Attrs {
            mode: 0o777,
            ..ROOT_0644
        };
        self.entry(tar::EntryType::Symlink, name, Some(target), attrs, &[], b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(
            tar::EntryType::Link,
            name,
            Some(target),
            ROOT_0644,
            &[],
            b"",
        )
    }

    pub fn device(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        major: u32,
        minor: u32,
    ) -> &mut Self {
        self.device = Some((major, minor));
        self.entry(
            kind,
            name,
            None,
            Attrs {
                mode: 0o660,
                ..ROOT_0644
            },
            &[],
            b"",
        )
    }

    pub fn fifo(&mut self, name: &str) -> &mut Self {
        self.entry(tar::EntryType::Fifo, name, None, ROOT_0644, &[], b"")
    }

    /// The tar, with its end-of-archive marker.
    pub fn tar(&mut self) -> Vec<u8> {
        let builder = std::mem::replace(&mut self.builder, tar::Builder::new(Vec::new()));
        builder.into_inner().unwrap()
    }
}

pub fn compress(tar: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(tar).unwrap();
            gz.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(tar, 3).unwrap(),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A scratch directory: `layer/` (the destination), and next to it a
/// `marker` file and an `outside/` directory with a `secret` — what a hostile
/// layer would like to reach.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

pub const MARKER: &[u8] = b"the marker keeps these bytes\n";

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("unpack-test")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("layer")).unwrap();
        std::fs::write(dir.path().join("marker"), MARKER).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/secret"), b"secret\n").unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dest(&self) -> PathBuf {
        self.dir.path().join("layer")
    }

    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// Everything of the scratch directory except the layer, plus the
    /// host files hostile layers aim at.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut seen = BTreeMap::new();
        walk(self.path(), self.path(), &mut seen, &self.dest());
        for host in ["/etc/passwd", "/etc/shadow", "/etc/hostname"] {
            if let Ok(bytes) = std::fs::read(host) {
                seen.insert(PathBuf::from(host), sha256_hex(&bytes));
            }
        }
        let names: Vec<_> = std::fs::read_dir("/etc")
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        seen.insert(PathBuf::from("/etc/*"), names.join(" "));
        seen
    }

    pub fn unpack(
        &self,
        blob: &[u8],
        compression: Compression,
        resolver: Resolver,
    ) -> Result<Unpacked, UnpackError> {
        let options = UnpackOptions {
            resolver,
            ..UnpackOptions::default()
        };
        unpack_layer(blob, compression, &self.dest(), &options)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

fn walk(base: &Path, dir: &Path, seen: &mut BTreeMap<PathBuf, String>, skip: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path == skip {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(base).unwrap().to_path_buf();
        let what = if meta.is_dir() {
            walk(base, &path, seen, skip);
            format!("dir {:o}", meta.mode())
        } else if meta.file_type().is_symlink() {
            format!("link {}", std::fs::read_link(&path).unwrap().display())
        } else {
            format!(
                "file {:o} {}",
                meta.mode(),
                sha256_hex(&std::fs::read(&path).unwrap())
            )
        };
        seen.insert(rel, what);
    }
}

/// One file's description, for comparing trees made by two unpackers.
pub fn describe(path: &Path) -> String {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        "dir".to_string()
    } else if kind.is_symlink() {
        format!("symlink -> {}", std::fs::read_link(path).unwrap().display())
    } else if kind.is_file() {
        format!(
            "file {} bytes sha256 {}",
            meta.len(),
            &sha256_hex(&std::fs::read(path).unwrap())[..16]
        )
    } else if kind.is_char_device() {
        format!(
            "char {}:{}",
            libc::major(meta.rdev()),
            libc::minor(meta.rdev())
        )
    } else if kind.is_block_device() {
        format!(
            "block {}:{}",
            libc::major(meta.rdev()),
            libc::minor(meta.rdev())
        )
    } else if kind.is_fifo() {
        "fifo".to_string()
    } else {
        "other".to_string()
    };
    let mode = if kind.is_symlink() {
        0
    } else {
        meta.mode() & 0o7777
    };
    format!(
        "{what} mode {mode:04o} owner {}:{} links {} mtime {}.{:09} xattrs {:?}",
        meta.uid(),
        meta.gid(),
        if kind.is_dir() { 0 } else { meta.nlink() },
        meta.mtime(),
        meta.mtime_nsec(),
        xattrs(path)
    )
}

/// Every xattr of `path` (not following a symlink), name → value.
pub fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 4096];
    let len = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let mut out = BTreeMap::new();
    if len <= 0 {
        return out;
    }
    for name in names[..len as usize]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
    {
        let cname = CString::new(name).unwrap();
        let mut value = vec![0u8; 4096];
        let n = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if n >= 0 {
            value.truncate(n as usize);
            out.insert(String::from_utf8_lossy(name).into_owned(), value);
        }
    }
    out
}

/// Every path under `root` (relative), described.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, describe(&path));
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                go(root, &path, out);
            }
        }
    }
    go(root, root, &mut out);
    out
}

/// True if `path` is a 0/0 character device: an overlayfs whiteout.
pub fn is_whiteout(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}

/// A one-layer OCI image layout around `blob`, tagged `test`.
pub fn oci_layout(dir: &Path, blob: &[u8], diff_id: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let (layer, layer_size) = put(blob);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    let (config, config_size) = put(config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}],
    });
    let (manifest, manifest_size) = put(manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest, "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": "test"},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
