//! config.json's `mounts`: each one made inside the rootfs, before pivot_root.
//!
//! An OCI mount is `{destination, type, source, options}`; the options mix
//! mount(2) flags (`ro`, `nosuid`, `rbind`, `rprivate`) with data for the
//! filesystem (`mode=755`, `size=65536k`, `newinstance`). We split them the
//! way runc does: known flag words become MsFlags, the rest is data.

use crate::error::RuntimeError;
use crate::inroot::{create_file_in, mkdir_all_in, proc_fd, InRootFailure};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// One mount, parsed and checked before anything is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStep {
    pub destination: PathBuf,
    /// "bind" for bind mounts (whatever the config's type said).
    pub kind: String,
    pub source: Option<PathBuf>,
    pub flags: MsFlags,
    /// MS_PRIVATE, MS_SHARED… (with MS_REC for the r- forms), applied in a second call.
    pub propagation: MsFlags,
    pub data: String,
}

/// Flag words: (word, set these, clear these).
const FLAG_WORDS: [(&str, MsFlags, MsFlags); 22] = [
    ("ro", MsFlags::MS_RDONLY, MsFlags::empty()),
    ("rw", MsFlags::empty(), MsFlags::MS_RDONLY),
    ("nosuid", MsFlags::MS_NOSUID, MsFlags::empty()),
    ("suid", MsFlags::empty(), MsFlags::MS_NOSUID),
    ("nodev", MsFlags::MS_NODEV, MsFlags::empty()),
    ("dev", MsFlags::empty(), MsFlags::MS_NODEV),
    ("noexec", MsFlags::MS_NOEXEC, MsFlags::empty()),
    ("exec", MsFlags::empty(), MsFlags::MS_NOEXEC),
    ("sync", MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
    ("async", MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
    ("dirsync", MsFlags::MS_DIRSYNC, MsFlags::empty()),
    ("remount", MsFlags::MS_REMOUNT, MsFlags::empty()),
    ("mand", MsFlags::MS_MANDLOCK, MsFlags::empty()),
    ("nomand", MsFlags::empty(), MsFlags::MS_MANDLOCK),
    ("atime", MsFlags::empty(), MsFlags::MS_NOATIME),
    ("noatime", MsFlags::MS_NOATIME, MsFlags::empty()),
    ("diratime", MsFlags::empty(), MsFlags::MS_NODIRATIME),
    ("nodiratime", MsFlags::MS_NODIRATIME, MsFlags::empty()),
    ("relatime", MsFlags::MS_RELATIME, MsFlags::empty()),
    ("norelatime", MsFlags::empty(), MsFlags::MS_RELATIME),
    ("strictatime", MsFlags::MS_STRICTATIME, MsFlags::empty()),
    ("nostrictatime", MsFlags::empty(), MsFlags::MS_STRICTATIME),
];

/// Propagation words → flags.
pub fn propagation_flag(word: &str) -> Option<MsFlags> {
    Some(match word {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// The filesystem types we know how to make.
const TYPES: [&str; 9] = [
    "bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "overlay",
];

// ANCHOR: parse_mount
/// Parses one entry of `mounts`; `index` names it in errors.
pub fn parse(index: usize, m: &oci_spec::runtime::Mount) -> Result<MountStep, RuntimeError> {
    let field = format!("mounts[{index}] ({})", m.destination().display());
    if !m.destination().is_absolute() {
        return Err(RuntimeError::invalid(
            field,
            "destination must be an absolute path inside the container",
        ));
    }
    if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        return Err(RuntimeError::unsupported(
            field,
            "id-mapped mounts (uidMappings/gidMappings) are not supported",
        ));
    }
    let options = m.options().clone().unwrap_or_default();
    let mut flags = MsFlags::empty();
    let mut propagation = MsFlags::empty();
    let mut data = Vec::new();
    let mut bind = false;
    for option in &options {
        if let Some((_, set, clear)) = FLAG_WORDS.iter().find(|(w, _, _)| w == option) {
            flags = (flags | *set) & !*clear;
        } else if let Some(p) = propagation_flag(option) {
            propagation = p;
        } else if option == "bind" {
            bind = true;
            flags |= MsFlags::MS_BIND;
        } else if option == "rbind" {
            bind = true;
            flags |= MsFlags::MS_BIND | MsFlags::MS_REC;
        } else if matches!(
            option.as_str(),
            "tmpcopyup" | "idmap" | "ridmap" | "copy-symlink"
        ) {
            // Extensions of crun/runc that change what the container sees.
            return Err(RuntimeError::unsupported(
                field,
                format!("the mount option {option:?} is not supported"),
            ));
        } else {
            // Anything else is the filesystem's own option (mode=, size=, gid=…).
            data.push(option.clone());
        }
    }
    let typ = m.typ().clone().unwrap_or_default();
    let kind = if bind || typ == "bind" {
        flags |= MsFlags::MS_BIND;
        "bind".to_string()
    } else if TYPES.contains(&typ.as_str()) {
        typ
    } else if typ.is_empty() {
        return Err(RuntimeError::invalid(
            field,
            "a mount needs a type (tmpfs, proc, …) or the bind option",
        ));
    } else {
        return Err(RuntimeError::unsupported(
            field,
            format!(
                "mount type {typ:?} is not one this runtime makes ({})",
                TYPES.join(", ")
            ),
        ));
    };
    if kind == "bind" {
        match m.source() {
            Some(source) if source.is_absolute() => {}
            _ => {
                return Err(RuntimeError::invalid(
                    field,
                    "a bind mount needs an absolute source path on the host",
                ))
            }
        }
    }
    Ok(MountStep {
        destination: m.destination().clone(),
        kind,
        source: m.source().clone(),
        flags,
        propagation,
        data: data.join(","),
    })
}
// ANCHOR_END: parse_mount

/// What the cgroup mount needs to know: the container's own cgroup dirs.
#[derive(Debug, Clone, Default)]
pub struct CgroupView {
    /// (v1 controllers joined with ",", path) for each v1 directory.
    pub v1: Vec<(String, PathBuf)>,
    /// True when the container's cgroup is on cgroup v2 only.
    pub unified: bool,
    /// The container's own cgroup v2 directory, as the host sees it.
    pub v2: Option<PathBuf>,
}

// ANCHOR: apply_mount
/// CHILD side, in the container's mount namespace, before pivot_root: makes
/// the mount on its target, resolved inside `root`.
pub fn apply(step: &MountStep, root: &OwnedFd, cgroups: &CgroupView) -> Result<(), InRootFailure> {
    let at = step.destination.display().to_string();
    let failed = |what: &str| {
        let what = format!("{what} on {at}");
        move |errno: Errno| (what, errno)
    };
    // A bind mount of a file needs a file to land on; everything else a directory.
    let source_is_file = step.kind == "bind"
        && step
            .source
            .as_deref()
            .and_then(|s| std::fs::metadata(s).ok())
            .is_some_and(|m| !m.is_dir());
    let target = if source_is_file {
        create_file_in(root, &step.destination)?
    } else {
        mkdir_all_in(root, &step.destination)?
    };
    let on = proc_fd(&target);
    let data = (!step.data.is_empty()).then_some(step.data.as_str());
    match step.kind.as_str() {
        "bind" => {
            let source = step.source.as_deref().unwrap_or(Path::new("/"));
            // MS_BIND (| MS_REC): the other flags are ignored here…
            mount(
                Some(source),
                &on,
                None::<&str>,
                step.flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
                None::<&str>,
            )
            .map_err(failed(&format!("bind-mounting {}", source.display())))?;
            // …and take a remount of the bind mount to apply.
            let extra = step.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
            remount_bind(root, step, extra)?;
        }
        "cgroup" if !cgroups.unified => mount_v1_cgroups(step, root, cgroups)?,
        kind => {
            let fstype = if kind == "cgroup" { "cgroup2" } else { kind };
            let source = step
                .source
                .as_deref()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(fstype));
            let flags = step.flags & !MsFlags::MS_REMOUNT;
            match mount(Some(&source), &on, Some(fstype), flags, data) {
                // A user namespace without its own net namespace may not mount sysfs: lend the host's.
                Err(Errno::EPERM) if fstype == "sysfs" => {
                    mount(
                        Some("/sys"),
                        &on,
                        None::<&str>,
                        MsFlags::MS_BIND | MsFlags::MS_REC,
                        None::<&str>,
                    )
                    .map_err(failed("bind-mounting the host's /sys"))?;
                }
                // A user namespace without a cgroup namespace of its own may
                // not mount cgroup2 (the kernel wants CAP_SYS_ADMIN over the
                // cgroup namespace): bind the container's own cgroup
                // directory instead, as runc does — it sees its subtree only.
                Err(Errno::EPERM) if fstype == "cgroup2" => match &cgroups.v2 {
                    Some(own) => bind_own_cgroup(own, step, root, &on, flags)?,
                    None => return Err(failed("mounting cgroup2")(Errno::EPERM)),
                },
                other => other.map_err(failed(&format!("mounting {fstype}")))?,
            }
        }
    }
    if !step.propagation.is_empty() {
        let target = crate::inroot::open_in(root, &step.destination, nix::fcntl::OFlag::O_PATH)
            .map_err(failed("reopening"))?;
        mount(
            None::<&str>,
            &proc_fd(&target),
            None::<&str>,
            step.propagation,
            None::<&str>,
        )
        .map_err(failed("setting propagation"))?;
    }
    Ok(())
}
// ANCHOR_END: apply_mount

/// A `cgroup` mount on v2 in a user namespace without a cgroup namespace of
/// its own: the kernel refuses a cgroup2 mount there (it wants
/// CAP_SYS_ADMIN over the cgroup namespace), so the container's own cgroup
/// directory is bound instead, as runc does — it sees its subtree only.
fn bind_own_cgroup(
    own: &Path,
    step: &MountStep,
    root: &OwnedFd,
    on: &Path,
    flags: MsFlags,
) -> Result<(), InRootFailure> {
    let at = step.destination.display().to_string();
    mount(
        Some(own),
        on,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| (format!("bind-mounting {} on {at}", own.display()), e))?;
    // The bind ignores these flags: a remount of it applies them.
    let extra =
        flags & (MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    remount_bind(root, step, extra)
}

/// A bind mount takes ro/nosuid/nodev/noexec only from a remount of it.
fn remount_bind(root: &OwnedFd, step: &MountStep, extra: MsFlags) -> Result<(), InRootFailure> {
    if extra.is_empty() {
        return Ok(());
    }
    let at = step.destination.display().to_string();
    let target = crate::inroot::open_in(root, &step.destination, nix::fcntl::OFlag::O_PATH)
        .map_err(|e| (format!("reopening on {at}"), e))?;
    mount(
        None::<&str>,
        &proc_fd(&target),
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | extra,
        None::<&str>,
    )
    .map_err(|e| (format!("remounting (ro/nosuid/nodev/noexec) on {at}"), e))
}

/// A `cgroup` mount on a v1 or hybrid host: a tmpfs with the container's
/// own cgroup directories bound into it (read-only if asked), as runc does.
fn mount_v1_cgroups(
    step: &MountStep,
    root: &OwnedFd,
    cgroups: &CgroupView,
) -> Result<(), InRootFailure> {
    let at = step.destination.display().to_string();
    let target = mkdir_all_in(root, &step.destination)?;
    mount(
        Some("tmpfs"),
        &proc_fd(&target),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=755"),
    )
    .map_err(|e| (format!("mounting tmpfs on {at}"), e))?;
    let readonly = step.flags.contains(MsFlags::MS_RDONLY);
    for (controllers, dir) in &cgroups.v1 {
        let inside = step.destination.join(controllers);
        let sub = mkdir_all_in(root, &inside)?;
        let shown = inside.display().to_string();
        mount(
            Some(dir),
            &proc_fd(&sub),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| (format!("bind-mounting {} on {shown}", dir.display()), e))?;
        if readonly {
            let sub = crate::inroot::open_in(root, &inside, nix::fcntl::OFlag::O_PATH)
                .map_err(|e| (shown.clone(), e))?;
            mount(
                None::<&str>,
                &proc_fd(&sub),
                None::<&str>,
                MsFlags::MS_REMOUNT
                    | MsFlags::MS_BIND
                    | MsFlags::MS_RDONLY
                    | MsFlags::MS_NOSUID
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_NOEXEC,
                None::<&str>,
            )
            .map_err(|e| (format!("remounting {shown} read-only"), e))?;
        }
    }
    if readonly {
        let again = crate::inroot::open_in(root, &step.destination, nix::fcntl::OFlag::O_PATH)
            .map_err(|e| (at.clone(), e))?;
        mount(
            None::<&str>,
            &proc_fd(&again),
            None::<&str>,
            MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .map_err(|e| (format!("remounting {at} read-only"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount_of(json: &str) -> oci_spec::runtime::Mount {
        serde_json::from_str(json).expect("a mount")
    }

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let m = mount_of(
            r#"{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k","rslave"]}"#,
        );
        let step = parse(0, &m).expect("valid");
        assert_eq!(step.kind, "tmpfs");
        assert_eq!(step.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(step.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(step.data, "mode=755,size=65536k");
    }

    #[test]
    fn rbind_ro_is_a_recursive_bind_then_a_read_only_remount() {
        let m = mount_of(
            r#"{"destination":"/data","type":"none","source":"/srv","options":["rbind","ro"]}"#,
        );
        let step = parse(0, &m).expect("valid");
        assert_eq!(step.kind, "bind");
        assert!(step
            .flags
            .contains(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY));
    }

    #[test]
    fn unknown_types_and_relative_sources_are_refused() {
        assert!(parse(
            0,
            &mount_of(r#"{"destination":"/x","type":"nfs4","source":"srv:/x"}"#)
        )
        .is_err());
        assert!(parse(
            0,
            &mount_of(r#"{"destination":"/x","type":"bind","source":"rel"}"#)
        )
        .is_err());
        assert!(parse(0, &mount_of(r#"{"destination":"x","type":"tmpfs"}"#)).is_err());
    }
}
