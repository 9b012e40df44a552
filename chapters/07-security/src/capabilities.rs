//! Capabilities: root's power, cut into some 41 pieces.
//!
//! Since Linux 2.2 "root" is not one privilege but a set of capabilities —
//! CAP_SYS_ADMIN to mount, CAP_MKNOD to create device nodes, CAP_NET_RAW
//! for raw sockets… Each process holds five sets: **bounding** (the most it
//! can ever get, also across execve), **permitted** (what it may turn on),
//! **effective** (what the kernel checks now), **inheritable** and
//! **ambient** (what survives execve of a program without file capabilities).
//! A container keeps the few a normal program needs; docker's default list
//! below has been the industry's baseline since 2014.

use crate::error::SecurityError;
use caps::{CapSet, Capability, CapsHashSet};
use std::str::FromStr;

// ANCHOR: docker_default
/// Docker's default capabilities (moby `oci/caps/defaults.go`): enough to
/// run a web server or a package manager as root, nothing that reaches the
/// kernel's global state. CAP_NET_RAW (ping) and CAP_MKNOD are in it; podman
/// dropped both (and AUDIT_WRITE) from its defaults.
pub const DOCKER_DEFAULT: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];
// ANCHOR_END: docker_default

/// The five sets a process starts its command with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilitySets {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    /// Empty by default: a non-empty inheritable set let programs with file
    /// inheritable capabilities gain them (CVE-2022-24769).
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
}

impl CapabilitySets {
    /// The same capabilities in bounding, effective and permitted; none
    /// inheritable or ambient — what docker and runc give a container's root.
    pub fn uniform(set: CapsHashSet) -> Self {
        CapabilitySets {
            bounding: set.clone(),
            effective: set.clone(),
            permitted: set,
            inheritable: CapsHashSet::new(),
            ambient: CapsHashSet::new(),
        }
    }

    /// Docker's default set.
    pub fn docker_default() -> Self {
        Self::uniform(DOCKER_DEFAULT.into_iter().collect())
    }

    /// Every capability this kernel knows (`--privileged`).
    pub fn all() -> Self {
        Self::uniform(all_known())
    }

    // ANCHOR: from_flags
    /// `--cap-add` / `--cap-drop` on top of docker's default, as docker reads
    /// them: `--cap-add ALL` starts from everything, `--cap-drop ALL` from
    /// nothing; then the named drops and adds.
    pub fn from_flags(add: &[String], drop: &[String]) -> Result<Self, SecurityError> {
        let add = parse_list(add)?;
        let drop = parse_list(drop)?;
        let mut set: CapsHashSet = match (&add, &drop) {
            (Names::All, _) => all_known(),
            (_, Names::All) => CapsHashSet::new(),
            _ => DOCKER_DEFAULT.into_iter().collect(),
        };
        if let Names::Some(drop) = &drop {
            set.retain(|c| !drop.contains(c));
        }
        if let Names::Some(add) = &add {
            set.extend(add.iter().copied());
        }
        Ok(Self::uniform(set))
    }
    // ANCHOR_END: from_flags

    /// From OCI's `process.capabilities` (absent sets are empty, as runc reads them).
    pub fn from_oci(oci: &oci_spec::runtime::LinuxCapabilities) -> Result<Self, SecurityError> {
        let convert =
            |set: &Option<oci_spec::runtime::Capabilities>| -> Result<CapsHashSet, SecurityError> {
                set.iter()
                    .flatten()
                    .map(|c| {
                        let name = serde_json::to_value(c)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default();
                        parse_name(&name)
                    })
                    .collect()
            };
        Ok(CapabilitySets {
            bounding: convert(oci.bounding())?,
            effective: convert(oci.effective())?,
            permitted: convert(oci.permitted())?,
            inheritable: convert(oci.inheritable())?,
            ambient: convert(oci.ambient())?,
        })
    }
}

/// `ALL`, or a list of capabilities.
enum Names {
    All,
    Some(CapsHashSet),
}

fn parse_list(names: &[String]) -> Result<Names, SecurityError> {
    if names.iter().any(|n| n.eq_ignore_ascii_case("ALL")) {
        return Ok(Names::All);
    }
    names
        .iter()
        .map(|n| parse_name(n))
        .collect::<Result<_, _>>()
        .map(Names::Some)
}

/// `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN`; anything else is refused.
pub fn parse_name(name: &str) -> Result<Capability, SecurityError> {
    Capability::from_str(&caps::to_canonical(name.trim())).map_err(|_| {
        SecurityError::UnknownCapability {
            name: name.to_string(),
        }
    })
}

/// Every capability we can hand out: all the running kernel has
/// (/proc/sys/kernel/cap_last_cap) that our own bounding set still holds.
/// (Run inside a container or a sandbox, root may lack some: CAP_SYS_RESOURCE.)
pub fn all_known() -> CapsHashSet {
    let ours = caps::read(None, CapSet::Bounding).unwrap_or_default();
    caps::runtime::thread_all_supported()
        .into_iter()
        .filter(|c| ours.contains(c))
        .collect()
}

/// Names, sorted, without the CAP_ prefix: for narration.
pub fn names(set: &CapsHashSet) -> String {
    let mut names: Vec<String> = set
        .iter()
        .map(|c| c.to_string().trim_start_matches("CAP_").to_string())
        .collect();
    names.sort();
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(" ")
    }
}

fn apply_failed(step: &str) -> impl FnOnce(caps::errors::CapsError) -> SecurityError + '_ {
    move |_| {
        SecurityError::apply(
            step,
            nix::errno::Errno::last(),
            "every capability asked for must be in the runtime's own bounding set (CapBnd in /proc/self/status), and the runtime must still hold CAP_SETPCAP",
        )
    }
}

// ANCHOR: drop_bounding
/// Step 1, still as root: shrink the bounding set. prctl(PR_CAPBSET_DROP)
/// needs CAP_SETPCAP in the effective set, which a user switch would clear.
pub fn drop_bounding(wanted: &CapsHashSet) -> Result<(), SecurityError> {
    for cap in
        caps::read(None, CapSet::Bounding).map_err(apply_failed("reading the bounding set"))?
    {
        if !wanted.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(apply_failed("prctl(PR_CAPBSET_DROP)"))?;
        }
    }
    Ok(())
}
// ANCHOR_END: drop_bounding

// ANCHOR: set_process_caps
/// Step 3, after the user switch: capset(2) the inheritable, effective and
/// permitted sets (in that order: each call must stay a subset of what the
/// one before left), then raise the ambient ones.
pub fn set_process_caps(sets: &CapabilitySets) -> Result<(), SecurityError> {
    caps::set(None, CapSet::Inheritable, &sets.inheritable)
        .map_err(apply_failed("capset(inheritable)"))?;
    caps::set(None, CapSet::Effective, &sets.effective)
        .map_err(apply_failed("capset(effective)"))?;
    caps::set(None, CapSet::Permitted, &sets.permitted)
        .map_err(apply_failed("capset(permitted)"))?;
    // Ambient: only what is both permitted and inheritable can be raised.
    caps::clear(None, CapSet::Ambient).map_err(apply_failed("prctl(PR_CAP_AMBIENT_CLEAR_ALL)"))?;
    for cap in &sets.ambient {
        caps::raise(None, CapSet::Ambient, *cap)
            .map_err(apply_failed("prctl(PR_CAP_AMBIENT_RAISE)"))?;
    }
    Ok(())
}
// ANCHOR_END: set_process_caps

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_with_or_without_cap_prefix() {
        assert_eq!(
            parse_name("net_admin").ok(),
            Some(Capability::CAP_NET_ADMIN)
        );
        assert_eq!(
            parse_name("CAP_SYS_ADMIN").ok(),
            Some(Capability::CAP_SYS_ADMIN)
        );
        let err = parse_name("NET_ADMN")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown capability \"NET_ADMN\""), "{err}");
    }

    #[test]
    fn docker_flag_semantics() {
        let default = CapabilitySets::from_flags(&[], &[]).ok();
        assert_eq!(default.map(|c| c.effective.len()), Some(14));
        let only = CapabilitySets::from_flags(&s(&["NET_ADMIN"]), &s(&["ALL"])).ok();
        assert_eq!(
            only.map(|c| c.effective),
            Some([Capability::CAP_NET_ADMIN].into_iter().collect())
        );
        let dropped = CapabilitySets::from_flags(&[], &s(&["CAP_NET_RAW"])).ok();
        assert_eq!(
            dropped.map(|c| c.bounding.contains(&Capability::CAP_NET_RAW)),
            Some(false)
        );
        assert!(CapabilitySets::from_flags(&s(&["bogus"]), &[]).is_err());
        let all = CapabilitySets::from_flags(&s(&["all"]), &s(&["SYS_ADMIN"])).ok();
        assert!(all.is_some_and(
            |c| c.effective.len() > 30 && !c.effective.contains(&Capability::CAP_SYS_ADMIN)
        ));
    }
}
