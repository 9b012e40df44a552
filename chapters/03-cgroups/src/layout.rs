//! Which cgroup layout does this host have? Read it, never assume it.
//!
//! Three layouts exist in the wild:
//! - **unified** (pure cgroup v2): one `cgroup2` mount, usually /sys/fs/cgroup —
//!   Ubuntu ≥ 21.10, Fedora ≥ 31, Debian ≥ 11;
//! - **legacy** (cgroup v1): one `cgroup` mount per controller (or group of controllers);
//! - **hybrid**: v1 hierarchies for the controllers, plus a `cgroup2` mount
//!   (often /sys/fs/cgroup/unified) that holds no controllers, or only a few.
//!
//! The truth is in two files: /proc/self/mountinfo says what is mounted where
//! (filesystem type `cgroup` or `cgroup2`, and for v1 which controllers), and
//! /proc/self/cgroup says which cgroup this process is in, per hierarchy.

use std::path::{Path, PathBuf};

/// The three layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Pure cgroup v2.
    Unified,
    /// Only cgroup v1 hierarchies.
    Legacy,
    /// v1 hierarchies for controllers, and a cgroup2 mount beside them.
    Hybrid,
}

impl std::fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LayoutKind::Unified => "unified (cgroup v2)",
            LayoutKind::Legacy => "legacy (cgroup v1)",
            LayoutKind::Hybrid => "hybrid (v1 controllers + cgroup2)",
        })
    }
}

/// One cgroup v1 hierarchy: a `cgroup` mount with its controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Controllers bound to this hierarchy, e.g. `["cpu", "cpuacct"]`; named
    /// hierarchies (`name=systemd`) have none.
    pub controllers: Vec<String>,
    /// `name=…` for a named hierarchy without controllers.
    pub name: Option<String>,
    /// Where it is mounted, e.g. /sys/fs/cgroup/memory.
    pub mount_point: PathBuf,
    /// This process's cgroup in that hierarchy, as a directory on disk.
    pub own_dir: PathBuf,
}

/// The cgroup2 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Mount {
    pub mount_point: PathBuf,
    /// This process's cgroup, as a directory on disk.
    pub own_dir: PathBuf,
    /// Controllers that the cgroup2 hierarchy offers (the root's `cgroup.controllers`).
    pub controllers: Vec<String>,
}

/// The cgroup layout of this host, as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLayout {
    pub kind: LayoutKind,
    pub v1: Vec<V1Hierarchy>,
    pub v2: Option<V2Mount>,
}

/// Why the layout could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no cgroup filesystem is mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo): mount cgroup2 on /sys/fs/cgroup, or see `minibox doctor`")]
    NoCgroups,
}

impl CgroupLayout {
    // ANCHOR: detect
    /// Reads the layout of the running system.
    pub fn detect() -> Result<CgroupLayout, LayoutError> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|source| LayoutError::Read {
                path: PathBuf::from(path),
                source,
            })
        };
        let mountinfo = read("/proc/self/mountinfo")?;
        let membership = read("/proc/self/cgroup")?;
        let mut layout = Self::parse(&mountinfo, &membership)?;
        if let Some(v2) = layout.v2.as_mut() {
            // The root of the hierarchy lists what cgroup2 can offer at all.
            let controllers = std::fs::read_to_string(v2.mount_point.join("cgroup.controllers"))
                .unwrap_or_default();
            v2.controllers = controllers.split_whitespace().map(String::from).collect();
            if layout.v1.iter().any(|h| !h.controllers.is_empty()) {
                layout.kind = LayoutKind::Hybrid;
            }
        }
        Ok(layout)
    }
    // ANCHOR_END: detect

    /// Works the layout out from the text of /proc/self/mountinfo and /proc/self/cgroup.
    /// `v2.controllers` stays empty: it needs the filesystem.
    pub fn parse(mountinfo: &str, membership: &str) -> Result<CgroupLayout, LayoutError> {
        // /proc/self/cgroup: "hierarchy-id:controller,list:/path"; v2 is "0::/path".
        let mut own_paths: Vec<(Vec<String>, String)> = Vec::new();
        for line in membership.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_id), Some(list), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let keys = list
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            own_paths.push((keys, path.to_string()));
        }
        let own_path_for = |keys: &[String]| -> Option<String> {
            own_paths
                .iter()
                .find(|(k, _)| {
                    if keys.is_empty() {
                        k.is_empty()
                    } else {
                        keys.iter().any(|key| k.contains(key))
                    }
                })
                .map(|(_, p)| p.clone())
        };

        let mut v1 = Vec::new();
        let mut v2 = None;
        for line in mountinfo.lines() {
            // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split_whitespace().collect();
            let right: Vec<&str> = right.split_whitespace().collect();
            if left.len() < 5 || right.len() < 3 {
                continue;
            }
            let (root, mount_point) = (unescape(left[3]), PathBuf::from(unescape(left[4])));
            match right[0] {
                "cgroup2" => {
                    let own = own_path_for(&[]).unwrap_or_else(|| "/".into());
                    v2 = Some(V2Mount {
                        own_dir: dir_on_disk(&mount_point, &root, &own),
                        mount_point,
                        controllers: Vec::new(),
                    });
                }
                "cgroup" => {
                    let mut controllers = Vec::new();
                    let mut name = None;
                    for opt in right[2].split(',') {
                        if let Some(n) = opt.strip_prefix("name=") {
                            name = Some(n.to_string());
                        } else if is_v1_controller(opt) {
                            controllers.push(opt.to_string());
                        }
                    }
                    let keys: Vec<String> = match &name {
                        Some(n) if controllers.is_empty() => vec![format!("name={n}")],
                        _ => controllers.clone(),
                    };
                    let own = own_path_for(&keys).unwrap_or_else(|| "/".into());
                    v1.push(V1Hierarchy {
                        own_dir: dir_on_disk(&mount_point, &root, &own),
                        controllers,
                        name,
                        mount_point,
                    });
                }
                _ => {}
            }
        }
        let has_v1_controllers = v1.iter().any(|h| !h.controllers.is_empty());
        let kind = match (has_v1_controllers, v2.is_some()) {
            (false, true) => LayoutKind::Unified,
            (true, false) => LayoutKind::Legacy,
            (true, true) => LayoutKind::Hybrid,
            (false, false) if !v1.is_empty() => LayoutKind::Legacy,
            (false, false) => return Err(LayoutError::NoCgroups),
        };
        Ok(CgroupLayout { kind, v1, v2 })
    }

    /// The v1 hierarchy that holds `controller`, if any.
    pub fn v1_hierarchy(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }

    /// True if cgroup2 offers `controller` (a v2 controller bound to v1 is not offered).
    pub fn v2_offers(&self, controller: &str) -> bool {
        self.v2
            .as_ref()
            .is_some_and(|v2| v2.controllers.iter().any(|c| c == controller))
    }
}

/// The directory of a cgroup: the mount point plus the cgroup path, minus
/// the part of the path the mount does not show (a container may see only a
/// subtree of the hierarchy, mounted with a non-"/" root).
fn dir_on_disk(mount_point: &Path, mount_root: &str, cgroup_path: &str) -> PathBuf {
    let relative = Path::new(cgroup_path)
        .strip_prefix(mount_root)
        .unwrap_or(Path::new(cgroup_path.trim_start_matches('/')));
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    mount_point.join(relative)
}

fn is_v1_controller(option: &str) -> bool {
    matches!(
        option,
        "cpu"
            | "cpuacct"
            | "cpuset"
            | "memory"
            | "devices"
            | "freezer"
            | "net_cls"
            | "net_prio"
            | "blkio"
            | "perf_event"
            | "hugetlb"
            | "pids"
            | "rdma"
            | "misc"
    )
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on the project's hybrid machine (Firecracker VM, no systemd).
    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/7bff
2:cpuacct:/
1:cpu:/
0::/
";
    // Ubuntu 24.04 laptop: pure v2, the user session's cgroup.
    const UNIFIED_MOUNTINFO: &str =
        "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
    const UNIFIED_CGROUP: &str = "0::/user.slice/user-1000.slice/session-2.scope\n";

    #[test]
    fn hybrid_host_has_v1_controllers_and_a_cgroup2_mount() {
        let layout = CgroupLayout::parse(HYBRID_MOUNTINFO, HYBRID_CGROUP).expect("parses");
        assert_eq!(layout.kind, LayoutKind::Hybrid);
        let memory = layout.v1_hierarchy("memory").expect("memory on v1");
        assert_eq!(
            memory.own_dir,
            PathBuf::from("/sys/fs/cgroup/memory/process_api/7bff")
        );
        assert_eq!(
            layout.v2.as_ref().map(|v| v.mount_point.clone()),
            Some("/sys/fs/cgroup/unified".into())
        );
        let systemd = layout
            .v1
            .iter()
            .find(|h| h.name.as_deref() == Some("systemd"))
            .expect("named");
        assert!(systemd.controllers.is_empty());
    }

    #[test]
    fn unified_host_finds_own_cgroup_directory() {
        let layout = CgroupLayout::parse(UNIFIED_MOUNTINFO, UNIFIED_CGROUP).expect("parses");
        assert_eq!(layout.kind, LayoutKind::Unified);
        assert_eq!(
            layout.v2.map(|v| v.own_dir),
            Some(PathBuf::from(
                "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"
            ))
        );
    }

    #[test]
    fn container_with_a_subtree_mounted_sees_its_root() {
        // Inside a container without a cgroup namespace: the mount shows only /docker/abc.
        let mountinfo = "600 500 0:30 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        let layout = CgroupLayout::parse(mountinfo, "0::/docker/abc\n").expect("parses");
        assert_eq!(
            layout.v2.map(|v| v.own_dir),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
    }

    #[test]
    fn no_cgroup_mount_is_an_error() {
        let err = CgroupLayout::parse("22 1 0:5 / /proc rw - proc proc rw\n", "0::/\n");
        assert!(matches!(err, Err(LayoutError::NoCgroups)));
    }

    #[test]
    fn octal_escapes_in_mount_points_are_decoded() {
        assert_eq!(unescape("/mnt/with\\040space"), "/mnt/with space");
    }
}
