//! A root filesystem in one command, offline: busybox.
//!
//! A static busybox is one binary that behaves as ~300 Unix tools depending on
//! the name it is called by (`/bin/sh`, `/bin/ls`, …). One copy of it plus a
//! symlink per tool and a few files in /etc make a complete tiny Linux
//! userland — enough for every chapter, with no download.

use crate::error::RootfsError;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file that marks a directory as a rootfs made by minibox.
pub const MARKER: &str = "etc/minibox-rootfs";

/// Where distributions put busybox; `MINIBOX_BUSYBOX` overrides.
const BUSYBOX_CANDIDATES: &[&str] = &[
    "/bin/busybox",
    "/usr/bin/busybox",
    "/usr/sbin/busybox",
    "/sbin/busybox",
];

/// Finds a busybox binary on the host.
pub fn find_busybox() -> Result<PathBuf, RootfsError> {
    if let Some(path) = std::env::var_os("MINIBOX_BUSYBOX") {
        return Ok(PathBuf::from(path));
    }
    BUSYBOX_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(RootfsError::BusyboxNotFound)
}

/// True unless the ELF file asks for a dynamic loader (has a PT_INTERP header).
///
/// A dynamically linked busybox would need the host's libc inside the rootfs.
pub fn is_statically_linked(path: &Path) -> Result<bool, RootfsError> {
    let io = |source| RootfsError::Io {
        what: "reading",
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut bytes))
        .map_err(io)?;
    // Only 64-bit little-endian ELF is inspected; anything else is given the benefit of the doubt.
    Ok(crate::interpreter::elf_interpreter(&bytes).is_none())
}

/// Creates a busybox root filesystem at `target`.
///
/// Built in a sibling temporary directory and renamed into place, so an error
/// never leaves a half-made rootfs behind. Calling it on an existing minibox
/// rootfs does nothing.
pub fn create_busybox_rootfs(target: &Path, busybox: &Path) -> Result<(), RootfsError> {
    if target.join(MARKER).is_file() {
        return Ok(());
    }
    if target.exists()
        && fs::read_dir(target)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(RootfsError::TargetNotEmpty(target.to_path_buf()));
    }
    if !is_statically_linked(busybox)? {
        return Err(RootfsError::BusyboxNotStatic(busybox.to_path_buf()));
    }
    let applets = list_applets(busybox)?;

    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io("creating", parent))?;
    let staging = tempfile_dir_in(parent)?;
    let result = populate(&staging, busybox, &applets).and_then(|()| {
        if target.exists() {
            // An empty directory: rename(2) replaces it.
            fs::remove_dir(target).map_err(io("replacing", target))?;
        }
        fs::rename(&staging, target).map_err(io("renaming into place", target))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

// ANCHOR: populate
fn populate(root: &Path, busybox: &Path, applets: &[String]) -> Result<(), RootfsError> {
    for (dir, mode) in [
        ("bin", 0o755),
        ("sbin", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("root", 0o700),
        ("home", 0o755),
        ("var", 0o755),
        ("run", 0o755),
        ("tmp", 0o1777),
    ] {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(io("creating", &path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(io("chmod", &path))?;
    }
    // ANCHOR: busybox_links
    // One real binary…
    let bin = root.join("bin/busybox");
    fs::copy(busybox, &bin).map_err(io("copying busybox to", &bin))?;
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).map_err(io("chmod", &bin))?;
    // …and a symlink per tool: busybox looks at argv[0] to know what to be.
    for applet in applets {
        let link = root.join(applet.trim_start_matches('/'));
        if link == bin || link.exists() {
            continue;
        }
        if let Some(dir) = link.parent() {
            fs::create_dir_all(dir).map_err(io("creating", dir))?;
        }
        symlink("/bin/busybox", &link).map_err(io("linking", &link))?;
    }
    // ANCHOR_END: busybox_links
    for (file, text) in [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hostname", "minibox\n"),
        ("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"),
        (
            MARKER,
            "a busybox root filesystem made by `minibox rootfs`\n",
        ),
    ] {
        let path = root.join(file);
        fs::write(&path, text).map_err(io("writing", &path))?;
    }
    Ok(())
}
// ANCHOR_END: populate

/// Asks busybox which tools it has and where they live (`bin/sh`, `usr/bin/env`, …).
fn list_applets(busybox: &Path) -> Result<Vec<String>, RootfsError> {
    let output = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| RootfsError::ListApplets(busybox.to_path_buf(), e.to_string()))?;
    if !output.status.success() {
        return Err(RootfsError::ListApplets(
            busybox.to_path_buf(),
            output.status.to_string(),
        ));
    }
    let applets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(".."))
        .map(String::from)
        .collect();
    if applets.is_empty() {
        return Err(RootfsError::ListApplets(
            busybox.to_path_buf(),
            "no applets listed".into(),
        ));
    }
    Ok(applets)
}

fn tempfile_dir_in(parent: &Path) -> Result<PathBuf, RootfsError> {
    for attempt in 0..100u32 {
        let path = parent.join(format!(".minibox-rootfs-{}-{attempt}", std::process::id()));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io("creating", &path)(e)),
        }
    }
    Err(RootfsError::Io {
        what: "creating a staging directory in",
        path: parent.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
    })
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RootfsError {
    let path = path.to_path_buf();
    move |source| RootfsError::Io { what, path, source }
}
