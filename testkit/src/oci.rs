//! Deterministic OCI images for tests: layers from a list of entries, a
//! config, a manifest, written as an OCI image layout (or its tar).
//!
//! Same input, same bytes, same digests — on every machine and every run:
//! entries go in the order given, every mtime is [`MTIME`], owners are
//! numeric, gzip carries no timestamp or name. Nothing here uses the code
//! under test; digests are computed independently with `sha2`.
//!
//! ```ignore
//! let image = ImageBuilder::new()
//!     .layer(Layer::new().dir("etc", 0o755).file("etc/hostname", b"box\n", 0o644))
//!     .layer(Layer::new().whiteout("etc/hostname"))
//!     .cmd(&["/bin/sh"])
//!     .build();
//! let layout = OciLayout::create(dir.path()).add(&image, "v1");
//! ```

use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every entry's mtime (2021-01-01T00:00:00Z): fixed, so digests are too.
pub const MTIME: u64 = 1_609_459_200;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }

    /// Compresses `tar` deterministically.
    pub fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => tar.to_vec(),
            Compression::Gzip => {
                // GzBuilder writes mtime 0 and no file name: the same bytes every time.
                let mut encoder =
                    flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::new(6));
                encoder
                    .write_all(tar)
                    .unwrap_or_else(|e| panic!("gzip: {e}"));
                encoder.finish().unwrap_or_else(|e| panic!("gzip: {e}"))
            }
            Compression::Zstd => zstd::encode_all(tar, 3).unwrap_or_else(|e| panic!("zstd: {e}")),
        }
    }
}

/// One entry of a layer's tar.
#[derive(Debug, Clone)]
pub enum Entry {
    Dir {
        path: String,
        mode: u32,
    },
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
    Hardlink {
        path: String,
        target: String,
    },
    CharDevice {
        path: String,
        major: u32,
        minor: u32,
        mode: u32,
    },
    Fifo {
        path: String,
        mode: u32,
    },
}

/// A layer: tar entries (with owners and xattrs), compressed one way —
/// or exact blob bytes, for layers that are wrong on purpose.
#[derive(Debug, Clone)]
pub struct Layer {
    entries: Vec<(Entry, (u32, u32), Xattrs)>,
    compression: Compression,
    raw: Option<RawLayer>,
}

/// An entry's xattrs: (name, value).
type Xattrs = Vec<(String, Vec<u8>)>;

#[derive(Debug, Clone)]
struct RawLayer {
    blob: Vec<u8>,
    media_type: String,
    diff_id: String,
}

impl Default for Layer {
    fn default() -> Self {
        Layer::new()
    }
}

impl Layer {
    /// An empty gzip'd layer.
    pub fn new() -> Layer {
        Layer {
            entries: Vec::new(),
            compression: Compression::Gzip,
            raw: None,
        }
    }

    /// A layer given as its exact blob bytes, with the DiffID the config will claim.
    pub fn raw_blob(blob: Vec<u8>, media_type: &str, diff_id: &str) -> Layer {
        Layer {
            raw: Some(RawLayer {
                blob,
                media_type: media_type.to_string(),
                diff_id: diff_id.to_string(),
            }),
            ..Layer::new()
        }
    }

    pub fn compression(mut self, compression: Compression) -> Layer {
        self.compression = compression;
        self
    }

    pub fn entry(mut self, entry: Entry) -> Layer {
        self.entries.push((entry, (0, 0), Vec::new()));
        self
    }

    pub fn dir(self, path: &str, mode: u32) -> Layer {
        self.entry(Entry::Dir {
            path: path.into(),
            mode,
        })
    }

    pub fn file(self, path: &str, data: &[u8], mode: u32) -> Layer {
        self.entry(Entry::File {
            path: path.into(),
            data: data.to_vec(),
            mode,
        })
    }

    /// A file whose bytes are copied from the host (e.g. a static busybox).
    pub fn host_file(self, path: &str, host: &Path, mode: u32) -> Layer {
        let data = fs::read(host).unwrap_or_else(|e| panic!("reading {}: {e}", host.display()));
        self.file(path, &data, mode)
    }

    pub fn symlink(self, path: &str, target: &str) -> Layer {
        self.entry(Entry::Symlink {
            path: path.into(),
            target: target.into(),
        })
    }

    pub fn hardlink(self, path: &str, target: &str) -> Layer {
        self.entry(Entry::Hardlink {
            path: path.into(),
            target: target.into(),
        })
    }

    pub fn char_device(self, path: &str, major: u32, minor: u32, mode: u32) -> Layer {
        self.entry(Entry::CharDevice {
            path: path.into(),
            major,
            minor,
            mode,
        })
    }

    /// `.wh.NAME` next to `path`: deletes `path` from the layers below.
    pub fn whiteout(self, path: &str) -> Layer {
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (format!("{dir}/"), name),
            None => (String::new(), path),
        };
        self.file(&format!("{dir}.wh.{name}"), b"", 0o644)
    }

    /// `DIR/.wh..wh..opq`: hides everything the layers below have in `dir`.
    pub fn opaque(self, dir: &str) -> Layer {
        self.file(&format!("{dir}/.wh..wh..opq"), b"", 0o644)
    }

    /// Sets the owner of the last entry added.
    pub fn owned(mut self, uid: u32, gid: u32) -> Layer {
        if let Some(last) = self.entries.last_mut() {
            last.1 = (uid, gid);
        }
        self
    }

    /// Adds an xattr (a PAX `SCHILY.xattr.` record) to the last entry added.
    pub fn xattr(mut self, name: &str, value: &[u8]) -> Layer {
        if let Some(last) = self.entries.last_mut() {
            last.2.push((name.to_string(), value.to_vec()));
        }
        self
    }

    /// The uncompressed tar.
    pub fn tar(&self) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (entry, (uid, gid), xattrs) in &self.entries {
            if !xattrs.is_empty() {
                append_pax_xattrs(&mut builder, xattrs);
            }
            let mut header = tar::Header::new_gnu();
            header.set_mtime(MTIME);
            header.set_uid(u64::from(*uid));
            header.set_gid(u64::from(*gid));
            header.set_size(0);
            let result = match entry {
                Entry::Dir { path, mode } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    builder.append_data(
                        &mut header,
                        format!("{}/", path.trim_end_matches('/')),
                        &[][..],
                    )
                }
                Entry::File { path, data, mode } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(data.len() as u64);
                    builder.append_data(&mut header, path, &data[..])
                }
                Entry::Symlink { path, target } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    builder.append_link(&mut header, path, target)
                }
                Entry::Hardlink { path, target } => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_mode(0o644);
                    builder.append_link(&mut header, path, target)
                }
                Entry::CharDevice {
                    path,
                    major,
                    minor,
                    mode,
                } => {
                    header.set_entry_type(tar::EntryType::Char);
                    header.set_mode(*mode);
                    let _ = header.set_device_major(*major);
                    let _ = header.set_device_minor(*minor);
                    builder.append_data(&mut header, path, &[][..])
                }
                Entry::Fifo { path, mode } => {
                    header.set_entry_type(tar::EntryType::Fifo);
                    header.set_mode(*mode);
                    builder.append_data(&mut header, path, &[][..])
                }
            };
            result.unwrap_or_else(|e| panic!("building a tar entry {entry:?}: {e}"));
        }
        builder
            .into_inner()
            .unwrap_or_else(|e| panic!("finishing a tar: {e}"))
    }

    /// (blob bytes, media type, DiffID).
    fn blob(&self) -> (Vec<u8>, String, String) {
        if let Some(raw) = &self.raw {
            return (
                raw.blob.clone(),
                raw.media_type.clone(),
                raw.diff_id.clone(),
            );
        }
        let tar = self.tar();
        let diff_id = sha256(&tar);
        (
            self.compression.compress(&tar),
            self.compression.media_type().to_string(),
            diff_id,
        )
    }
}

/// A PAX extended header ("x") carrying xattrs, as GNU tar --xattrs writes them.
fn append_pax_xattrs(builder: &mut tar::Builder<Vec<u8>>, xattrs: &[(String, Vec<u8>)]) {
    let mut records = Vec::new();
    for (name, value) in xattrs {
        let body_len = " SCHILY.xattr.".len() + name.len() + 1 + value.len() + 1;
        // The length prefix counts itself: find the fixed point.
        let mut len = body_len + 1;
        while len != body_len + len.to_string().len() {
            len = body_len + len.to_string().len();
        }
        records.extend_from_slice(format!("{len} SCHILY.xattr.{name}=").as_bytes());
        records.extend_from_slice(value);
        records.push(b'\n');
    }
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_mtime(MTIME);
    header.set_mode(0o644);
    header.set_size(records.len() as u64);
    builder
        .append_data(&mut header, "PaxHeaders/xattrs", &records[..])
        .unwrap_or_else(|e| panic!("pax header: {e}"));
}

/// One layer as it ends up in the image.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub blob: Vec<u8>,
    pub media_type: String,
    pub digest: String,
    pub diff_id: String,
}

/// An image: config and manifest bytes, and its layers.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub layers: Vec<BuiltLayer>,
    pub config: Vec<u8>,
    pub config_digest: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// Builds a [`BuiltImage`].
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    layers: Vec<Layer>,
    config: serde_json::Map<String, serde_json::Value>,
    os: String,
    architecture: String,
    variant: Option<String>,
    diff_id_overrides: Vec<(usize, String)>,
    history: Vec<String>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        ImageBuilder::new()
    }
}

/// This machine's architecture in GOARCH spelling.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

impl ImageBuilder {
    /// An image for this machine's platform, with no layers and an empty config.
    pub fn new() -> ImageBuilder {
        ImageBuilder {
            layers: Vec::new(),
            config: serde_json::Map::new(),
            os: "linux".into(),
            architecture: host_architecture().into(),
            variant: (host_architecture() == "arm64").then(|| "v8".to_string()),
            diff_id_overrides: Vec::new(),
            history: Vec::new(),
        }
    }

    pub fn layer(mut self, layer: Layer) -> ImageBuilder {
        self.history.push(format!("layer {}", self.layers.len()));
        self.layers.push(layer);
        self
    }

    pub fn platform(mut self, os: &str, architecture: &str, variant: Option<&str>) -> ImageBuilder {
        self.os = os.into();
        self.architecture = architecture.into();
        self.variant = variant.map(str::to_string);
        self
    }

    fn set(mut self, key: &str, value: serde_json::Value) -> ImageBuilder {
        self.config.insert(key.into(), value);
        self
    }

    pub fn entrypoint(self, argv: &[&str]) -> ImageBuilder {
        self.set("Entrypoint", serde_json::json!(argv))
    }

    pub fn cmd(self, argv: &[&str]) -> ImageBuilder {
        self.set("Cmd", serde_json::json!(argv))
    }

    /// `KEY=VALUE` strings, as the config stores them.
    pub fn env(self, env: &[&str]) -> ImageBuilder {
        self.set("Env", serde_json::json!(env))
    }

    pub fn workdir(self, dir: &str) -> ImageBuilder {
        self.set("WorkingDir", serde_json::json!(dir))
    }

    pub fn user(self, user: &str) -> ImageBuilder {
        self.set("User", serde_json::json!(user))
    }

    pub fn label(mut self, key: &str, value: &str) -> ImageBuilder {
        let labels = self
            .config
            .entry("Labels")
            .or_insert_with(|| serde_json::json!({}));
        labels[key] = serde_json::json!(value);
        self
    }

    /// Makes the config claim `diff_id` for layer `index` (a wrong DiffID on purpose).
    pub fn diff_id_override(mut self, index: usize, diff_id: &str) -> ImageBuilder {
        self.diff_id_overrides.push((index, diff_id.to_string()));
        self
    }

    pub fn build(&self) -> BuiltImage {
        let layers: Vec<BuiltLayer> = self
            .layers
            .iter()
            .map(|layer| {
                let (blob, media_type, diff_id) = layer.blob();
                BuiltLayer {
                    digest: sha256(&blob),
                    blob,
                    media_type,
                    diff_id,
                }
            })
            .collect();
        let mut diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        for (index, diff_id) in &self.diff_id_overrides {
            diff_ids[*index] = diff_id.clone();
        }
        let mut config = serde_json::json!({
            "architecture": self.architecture,
            "os": self.os,
            "config": self.config,
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": self.history.iter().map(|h| serde_json::json!({ "created_by": h })).collect::<Vec<_>>(),
        });
        if let Some(variant) = &self.variant {
            config["variant"] = serde_json::json!(variant);
        }
        let config = serde_json::to_vec(&config).unwrap_or_default();
        let config_digest = sha256(&config);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len() },
            "layers": layers.iter().map(|l| serde_json::json!({
                "mediaType": l.media_type, "digest": l.digest, "size": l.blob.len()
            })).collect::<Vec<_>>(),
        });
        let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
        BuiltImage {
            layers,
            config_digest,
            config,
            manifest_digest: sha256(&manifest),
            manifest,
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
        }
    }
}

impl BuiltImage {
    /// The manifest's descriptor, with this image's platform.
    pub fn descriptor(&self) -> serde_json::Value {
        let mut platform = serde_json::json!({ "os": self.os, "architecture": self.architecture });
        if let Some(variant) = &self.variant {
            platform["variant"] = serde_json::json!(variant);
        }
        serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "digest": self.manifest_digest,
            "size": self.manifest.len(),
            "platform": platform,
        })
    }
}

/// An OCI image layout directory being written: `oci-layout`, `index.json`, `blobs/sha256/`.
#[derive(Debug)]
pub struct OciLayout {
    dir: PathBuf,
    manifests: Vec<serde_json::Value>,
}

impl OciLayout {
    pub fn create(dir: &Path) -> OciLayout {
        fs::create_dir_all(dir.join("blobs/sha256"))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .unwrap_or_else(|e| panic!("writing oci-layout: {e}"));
        let layout = OciLayout {
            dir: dir.to_path_buf(),
            manifests: Vec::new(),
        };
        layout.write_index();
        layout
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where a blob of this digest lives in the layout.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    fn put(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        fs::write(self.blob_path(&digest), bytes).unwrap_or_else(|e| panic!("writing a blob: {e}"));
        digest
    }

    fn put_image(&self, image: &BuiltImage) {
        for layer in &image.layers {
            self.put(&layer.blob);
        }
        self.put(&image.config);
        self.put(&image.manifest);
    }

    /// Adds an image, named `tag` in index.json (`org.opencontainers.image.ref.name`).
    pub fn add(mut self, image: &BuiltImage, tag: &str) -> OciLayout {
        self.put_image(image);
        let mut descriptor = image.descriptor();
        descriptor["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
        self.manifests.push(descriptor);
        self.write_index();
        self
    }

    /// Adds a multi-platform image: an index blob of `images`, named `tag`.
    /// `extra` descriptors go into that index as they are (attestations, say).
    pub fn add_index(
        mut self,
        images: &[&BuiltImage],
        extra: &[serde_json::Value],
        tag: &str,
    ) -> OciLayout {
        let mut manifests = Vec::new();
        for image in images {
            self.put_image(image);
            manifests.push(image.descriptor());
        }
        manifests.extend(extra.iter().cloned());
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests
        }))
        .unwrap_or_default();
        let digest = self.put(&index);
        self.manifests.push(serde_json::json!({
            "mediaType": OCI_INDEX, "digest": digest, "size": index.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }));
        self.write_index();
        self
    }

    fn write_index(&self) {
        let index = serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.manifests });
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("writing index.json: {e}"));
    }

    /// The layout as an oci-archive: a tar of the directory, entries sorted.
    pub fn tar_to(&self, file: &Path) {
        let mut builder = tar::Builder::new(Vec::new());
        let mut paths = Vec::new();
        collect(&self.dir, &self.dir, &mut paths);
        paths.sort();
        for relative in paths {
            let full = self.dir.join(&relative);
            let mut header = tar::Header::new_gnu();
            header.set_mtime(MTIME);
            if full.is_dir() {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, format!("{}/", relative.display()), &[][..])
            } else {
                let data =
                    fs::read(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()));
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, &relative, &data[..])
            }
            .unwrap_or_else(|e| panic!("archiving {}: {e}", relative.display()));
        }
        let bytes = builder
            .into_inner()
            .unwrap_or_else(|e| panic!("finishing a tar: {e}"));
        fs::write(file, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    }
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_path_buf());
        }
        if path.is_dir() {
            collect(base, &path, out);
        }
    }
}
