//! /etc/hosts, /etc/resolv.conf and /etc/hostname for the container.
//!
//! We write them into a directory of the network's state and bind-mount
//! each onto the file of the same name in the container's root, as docker
//! does. The image is not changed (a rootfs shared by many containers gets
//! no one container's address), the mounts die with the container's mount
//! namespace, and an engine can rewrite a file while the container runs.
//! An engine driving an OCI runtime passes the same three files as bind
//! mounts in config.json.

use crate::error::NetworkError;
use ch01_chroot::Narrator;
use ch02_namespaces::HookError;
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use nix::sys::stat::{fstat, SFlag};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The three files, by name inside /etc.
pub const FILES: [&str; 3] = ["hosts", "resolv.conf", "hostname"];

/// Used when the host names no usable DNS server (docker's fallback too).
pub const FALLBACK_DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(8, 8, 4, 4)];

/// The directory holding one container's three files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EtcFiles {
    pub dir: PathBuf,
}

impl EtcFiles {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes the three files (the directory is made if missing).
    pub fn write(
        &self,
        hosts: &str,
        resolv_conf: &str,
        hostname: &str,
    ) -> Result<(), NetworkError> {
        std::fs::create_dir_all(&self.dir).map_err(NetworkError::io("creating", &self.dir))?;
        for (name, text) in [
            ("hosts", hosts),
            ("resolv.conf", resolv_conf),
            ("hostname", hostname),
        ] {
            let path = self.path(name);
            std::fs::write(&path, text).map_err(NetworkError::io("writing", &path))?;
        }
        Ok(())
    }

    /// Removes the files and the directory (what is not there is no error).
    pub fn remove(&self) {
        for name in FILES {
            let _ = std::fs::remove_file(self.path(name));
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

// ANCHOR: hosts
/// The container's /etc/hosts: loopback, its own name on its address, and
/// any `--add-host NAME:IP`.
pub fn hosts(hostname: &str, ip: Ipv4Addr, extra: &[(String, Ipv4Addr)]) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    text.push_str(&format!("{ip}\t{hostname}\n"));
    for (name, address) in extra {
        text.push_str(&format!("{address}\t{name}\n"));
    }
    text
}
// ANCHOR_END: hosts

// ANCHOR: resolv_conf
/// The container's /etc/resolv.conf: `dns` if given, else the host's
/// nameservers — except loopback ones (127.0.0.53 is systemd-resolved *on
/// the host*; inside the container 127.0.0.53 is the container's own lo),
/// for which we try systemd-resolved's list of real upstream servers.
/// Returns the text and where the servers came from.
pub fn resolv_conf(dns: &[Ipv4Addr]) -> (String, String) {
    if !dns.is_empty() {
        return (render(dns, ""), "--dns".into());
    }
    for source in ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"] {
        let text = std::fs::read_to_string(source).unwrap_or_default();
        let servers: Vec<Ipv4Addr> = text
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver"))
            .filter_map(|a| a.trim().parse().ok())
            .filter(|a: &Ipv4Addr| !a.is_loopback())
            .collect();
        if !servers.is_empty() {
            let search: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("search ") || l.starts_with("options "))
                .collect();
            return (render(&servers, &search.join("\n")), source.to_string());
        }
    }
    (
        render(&FALLBACK_DNS, ""),
        "docker's fallback (the host has only loopback nameservers)".into(),
    )
}
// ANCHOR_END: resolv_conf

fn render(servers: &[Ipv4Addr], rest: &str) -> String {
    let mut text: String = servers
        .iter()
        .map(|s| format!("nameserver {s}\n"))
        .collect();
    if !rest.is_empty() {
        text.push_str(rest);
        text.push('\n');
    }
    text
}

// ANCHOR: bind_into_find
/// CHILD side, in the container's mount namespace before pivot_root:
/// bind-mount each file over ROOT/etc/NAME (a missing one is left alone).
pub fn bind_into(root: &Path, files: &EtcFiles, narrator: &Narrator) -> Result<(), HookError> {
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        HookError::new(
            format!("opening {}", root.display()),
            Some(e),
            "the root must be a directory",
        )
    })?;
    for name in FILES {
        let Some(target) = open_target(root_fd.as_fd(), name)? else {
            narrator.detail(&format!(
                "the image has no /etc/{name}: nothing to mount over"
            ));
            continue;
        };
        // ANCHOR_END: bind_into_find
        // ANCHOR: bind_into_mount
        let source = files.path(name);
        // MS_BIND: the same file, seen at a second place; onto the fd we
        // checked (/proc/self/fd/N), never onto a path looked up again.
        let on = ch02_namespaces::inroot::proc_fd_path(target.as_fd());
        mount(
            Some(&source),
            &on,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            let step = format!("bind-mounting {} onto /etc/{name}", source.display());
            HookError::new(
                step,
                Some(e),
                "needs CAP_SYS_ADMIN in the container's mount namespace",
            )
        })?;
    }
    let all = format!("{}/{{hosts,resolv.conf,hostname}}", files.dir.display());
    narrator.syscall(
        &format!("mount --bind {all} /etc/…"),
        "the container's own /etc/hosts, resolv.conf and hostname, over the image's",
    );
    Ok(())
}
// ANCHOR_END: bind_into_mount

/// ROOT/etc/NAME as an O_PATH fd, resolved *inside* the root: a symlink in
/// the image (resolv.conf → ../run/systemd/resolve/stub-resolv.conf) is
/// followed with the root as "/", never out of it. It must be a regular file.
fn open_target(root: BorrowedFd<'_>, name: &str) -> Result<Option<OwnedFd>, HookError> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let target = match openat2(root, format!("etc/{name}").as_str(), how) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(errno) => {
            let hint = "it must be a file inside the rootfs (openat2 needs Linux 5.6)";
            return Err(HookError::new(
                format!("opening /etc/{name} in the rootfs"),
                Some(errno),
                hint,
            ));
        }
    };
    let is_file =
        fstat(&target).is_ok_and(|st| st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFREG.bits());
    if !is_file {
        let step = format!("checking /etc/{name} in the rootfs");
        return Err(HookError::new(
            step,
            None,
            "it must be a regular file to mount over",
        ));
    }
    Ok(Some(target))
}

/// Mount targets a plain rootfs lacked, created empty before the container
/// starts and removed after it ended if still empty (as chapter 02 does for
/// /proc, /dev and /sys): `--rootfs DIR` is left as it was. Both by fd
/// relative to ROOTFS/etc, opened once: never through a symlink.
#[derive(Debug, Default)]
pub struct MadeFiles {
    etc: Option<ch02_namespaces::inroot::Dir>,
    made: Vec<&'static str>,
}

impl MadeFiles {
    /// Creates the files of [`FILES`] missing from ROOTFS/etc
    /// (O_EXCL|O_NOFOLLOW: an existing name, a symlink too, is left alone).
    pub fn create_missing(rootfs: &Path) -> MadeFiles {
        let Ok(etc) =
            ch02_namespaces::inroot::Dir::open_host(rootfs).and_then(|r| r.open_in("etc"))
        else {
            return MadeFiles::default();
        };
        let made = FILES
            .into_iter()
            .filter(|name| {
                nix::fcntl::openat(
                    etc.fd(),
                    *name,
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_WRONLY
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o644),
                )
                .is_ok()
            })
            .collect();
        MadeFiles {
            etc: Some(etc),
            made,
        }
    }

    /// The names (in /etc) that were created.
    pub fn made(&self) -> &[&'static str] {
        &self.made
    }

    /// Removes what we made, if it is still an empty regular file.
    pub fn remove(self) {
        let Some(etc) = self.etc else { return };
        for name in self.made {
            let empty_file =
                nix::sys::stat::fstatat(etc.fd(), name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| {
                        st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFREG.bits()
                            && st.st_size == 0
                    });
            if empty_file {
                let _ =
                    nix::unistd::unlinkat(etc.fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
            }
        }
    }
}
