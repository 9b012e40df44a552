//! Users: who the command runs as, looked up in the *image's* files.
//!
//! `--user www-data` means the www-data of the root filesystem's
//! /etc/passwd, not the host's: the image brings its own users. We read
//! those files by file descriptor, resolved inside the rootfs
//! (openat2 RESOLVE_IN_ROOT), so an image whose /etc is a symlink to the
//! host's /etc reads its own files, never ours.

use crate::error::SecurityError;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Who the command runs as, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the user's groups in /etc/group and `--group-add`.
    pub additional_gids: Vec<u32>,
    /// From /etc/passwd; `/` for a UID the rootfs does not know (as docker does).
    pub home: String,
    pub name: Option<String>,
}

impl User {
    pub fn root() -> User {
        User {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".into(),
            name: Some("root".into()),
        }
    }
}

/// One line of /etc/passwd: name:x:uid:gid:gecos:home:shell.
#[derive(Debug)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

/// One line of /etc/group: name:x:gid:member,member.
#[derive(Debug)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 7).then_some(())?;
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 4).then_some(())?;
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

// ANCHOR: read_in_root
/// Reads `relative` (e.g. "etc/passwd") inside `rootfs`: every symlink and
/// ".." on the way is resolved as if `rootfs` were "/". Absent: `None`.
pub fn read_in_root(rootfs: &Path, relative: &str) -> Result<Option<String>, SecurityError> {
    let failed = |error: std::io::Error| SecurityError::RootfsFile {
        path: rootfs.join(relative),
        error,
    };
    let root = std::fs::File::open(rootfs).map_err(failed)?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(&root, relative, how) {
        Ok(fd) => {
            let mut text = String::new();
            std::fs::File::from(fd)
                .read_to_string(&mut text)
                .map_err(failed)?;
            Ok(Some(text))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(errno) => Err(failed(std::io::Error::from(errno))),
    }
}
// ANCHOR_END: read_in_root

// ANCHOR: resolve
// ANCHOR: resolve_user
/// `--user` (UID, UID:GID, NAME, NAME:GROUP; `None`: root) and `--group-add`
/// (GIDs or names), resolved against the rootfs's /etc/passwd and /etc/group
/// as runc does: a name must exist; a bare UID need not (then GID 0, HOME /).
pub fn resolve(
    rootfs: &Path,
    spec: Option<&str>,
    group_add: &[String],
) -> Result<User, SecurityError> {
    let passwd_path = PathBuf::from("/etc/passwd");
    let group_path = PathBuf::from("/etc/group");
    let passwd = parse_passwd(&read_in_root(rootfs, "etc/passwd")?.unwrap_or_default());
    let groups = parse_group(&read_in_root(rootfs, "etc/group")?.unwrap_or_default());

    let spec = spec.unwrap_or("0");
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() || group_part.is_some_and(str::is_empty) {
        return Err(SecurityError::InvalidUser {
            value: spec.to_string(),
        });
    }
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd.iter().find(|p| p.uid == uid),
        Err(_) => Some(passwd.iter().find(|p| p.name == user_part).ok_or_else(|| {
            SecurityError::UnknownUser {
                name: user_part.to_string(),
                passwd: passwd_path.clone(),
            }
        })?),
    };
    let uid = entry.map_or_else(|| user_part.parse().unwrap_or(0), |e| e.uid);
    // ANCHOR_END: resolve_user
    // ANCHOR: resolve_groups
    let group_id = |name: &str| -> Result<u32, SecurityError> {
        name.parse::<u32>().or_else(|_| {
            groups
                .iter()
                .find(|g| g.name == name)
                .map(|g| g.gid)
                .ok_or_else(|| SecurityError::UnknownGroup {
                    name: name.to_string(),
                    group: group_path.clone(),
                })
        })
    };
    let gid = match group_part {
        Some(g) => group_id(g)?,
        None => entry.map_or(0, |e| e.gid),
    };
    // The user's groups from /etc/group (by name), then --group-add.
    let mut additional: Vec<u32> = match entry {
        Some(e) => groups
            .iter()
            .filter(|g| g.members.contains(&e.name) && g.gid != gid)
            .map(|g| g.gid)
            .collect(),
        None => Vec::new(),
    };
    for g in group_add {
        additional.push(group_id(g)?);
    }
    additional.sort_unstable();
    additional.dedup();
    Ok(User {
        uid,
        gid,
        additional_gids: additional,
        home: entry.map_or_else(|| "/".to_string(), |e| e.home.clone()),
        name: entry.map(|e| e.name.clone()),
    })
}
// ANCHOR_END: resolve_groups
// ANCHOR_END: resolve

// ANCHOR: switch_user
/// CHILD side: become `user`. Groups first, then the GID, the UID last —
/// after setresuid we would no longer be allowed to change the others.
pub fn switch_to(user: &User) -> Result<(), SecurityError> {
    let gids: Vec<Gid> = user
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // setgroups(2) replaces the supplementary groups; without it the
    // command would keep whatever groups the runtime had.
    setgroups(&gids).map_err(|e| {
        SecurityError::apply("setgroups", e, "inside a user namespace, /proc/PID/setgroups must say \"allow\" (root writes gid_map without \"deny\")")
    })?;
    let gid = Gid::from_raw(user.gid);
    setresgid(gid, gid, gid).map_err(|e| {
        SecurityError::apply(
            format!("setresgid({})", user.gid),
            e,
            "the GID must be mapped in the container's user namespace",
        )
    })?;
    let uid = Uid::from_raw(user.uid);
    setresuid(uid, uid, uid).map_err(|e| {
        SecurityError::apply(
            format!("setresuid({})", user.uid),
            e,
            "the UID must be mapped in the container's user namespace",
        )
    })?;
    Ok(())
}
// ANCHOR_END: switch_user

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            etc.join("group"),
            "root:x:0:\nalice:x:1000:\nwheel:x:10:alice\naudio:x:29:bob,alice\nstaff:x:50:\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    #[test]
    fn names_resolve_through_the_rootfs_files() {
        let dir = rootfs();
        let alice = resolve(dir.path(), Some("alice"), &["staff".into(), "7".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((alice.uid, alice.gid), (1000, 1000));
        assert_eq!(alice.additional_gids, vec![7, 10, 29, 50]);
        assert_eq!(alice.home, "/home/alice");
        let numeric =
            resolve(dir.path(), Some("4242:wheel"), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (numeric.uid, numeric.gid, numeric.home.as_str()),
            (4242, 10, "/")
        );
        let err = resolve(dir.path(), Some("mallory"), &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "user \"mallory\" is not in /etc/passwd: add it there, or pass a numeric UID[:GID]"
            )
        );
        assert!(resolve(dir.path(), Some("alice:nogroup"), &[]).is_err());
        assert!(resolve(dir.path(), Some(":5"), &[]).is_err());
    }

    #[test]
    fn a_symlinked_etc_stays_inside_the_rootfs() {
        let dir = rootfs();
        let inner = dir.path().join("etc");
        std::fs::rename(&inner, dir.path().join("real-etc")).unwrap_or_else(|e| panic!("{e}"));
        // An absolute link: on the host it would point at the host's /etc.
        std::os::unix::fs::symlink("/real-etc", &inner).unwrap_or_else(|e| panic!("{e}"));
        let alice = resolve(dir.path(), Some("alice"), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alice.uid, 1000);
    }
}
