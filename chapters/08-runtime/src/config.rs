//! config.json → what chapters 02 and 03 run.
//!
//! Every field is read here, before anything exists on the host, and each
//! ends in one of three places: it is applied; it only labels (an LSM
//! profile on a host without that LSM, intelRdt) and is logged as a
//! warning; or we cannot honour it and it would weaken isolation or change
//! what runs — a clear error. Nothing is ignored in silence.

use crate::devices::DeviceNode;
use crate::error::RuntimeError;
use crate::log::RuntimeLog;
use crate::mounts::MountStep;
use crate::process::ProcessSetup;
use ch02_namespaces::join::NamespaceKind;
use ch02_namespaces::timens::TimeOffsets;
use ch02_namespaces::{ContainerSpec, IdMapping, Namespaces};
use ch03_cgroups::{Limits, Placement};
use ch07_security::Restrictions;
use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

/// The annotation that asks for chapter 02's reaping init as PID 1.
pub const INIT_ANNOTATION: &str = "run.oci.minibox.init";

/// Everything a container needs, decided from its config.json.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: Spec,
    pub bundle: PathBuf,
    /// Chapter 02's spec; namespaces given with a `path` are its `join`
    /// (entered with setns before the clone), a new time namespace its
    /// `time_offsets`.
    pub container: ContainerSpec,
    pub mounts: Vec<MountStep>,
    pub devices: Vec<DeviceNode>,
    pub rootfs_propagation: Option<MsFlags>,
    pub limits: Limits,
    pub unified: Vec<(String, String)>,
    pub placement: Placement,
    pub process: ProcessSetup,
    /// Chapter 07: capabilities, seccomp, no_new_privs, masks, read-only
    /// paths, device rules, user, umask, rlimits.
    pub restrictions: Restrictions,
    pub sysctl: Vec<(String, String)>,
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
}

/// Loads `bundle/config.json` with a message that says which file and where.
pub fn load(bundle: &Path) -> Result<Spec, RuntimeError> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| RuntimeError::Config {
        path: path.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| RuntimeError::Config {
        path,
        message: e.to_string(),
    })
}

fn id_maps(maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>) -> Vec<IdMapping> {
    maps.iter()
        .flatten()
        .map(|m| IdMapping {
            container_id: m.container_id(),
            host_id: m.host_id(),
            count: m.size(),
        })
        .collect()
}

fn kind_of(typ: LinuxNamespaceType) -> NamespaceKind {
    match typ {
        LinuxNamespaceType::Mount => NamespaceKind::Mount,
        LinuxNamespaceType::Cgroup => NamespaceKind::Cgroup,
        LinuxNamespaceType::Uts => NamespaceKind::Uts,
        LinuxNamespaceType::Ipc => NamespaceKind::Ipc,
        LinuxNamespaceType::User => NamespaceKind::User,
        LinuxNamespaceType::Pid => NamespaceKind::Pid,
        LinuxNamespaceType::Network => NamespaceKind::Net,
        LinuxNamespaceType::Time => NamespaceKind::Time,
    }
}

// ANCHOR: plan
/// Reads the whole config; `id` names the container.
pub fn plan(id: &str, bundle: &Path, spec: Spec, log: &RuntimeLog) -> Result<Plan, RuntimeError> {
    let process = spec.process().clone().ok_or_else(|| {
        RuntimeError::invalid("process", "missing: say what to run (process.args)")
    })?;
    let argv = process.args().clone().unwrap_or_default();
    if argv.is_empty() {
        return Err(RuntimeError::invalid(
            "process.args",
            "empty: say what to run, e.g. [\"sh\"]",
        ));
    }
    let root = spec.root().clone().ok_or_else(|| {
        RuntimeError::invalid("root", "missing: name the root filesystem (root.path)")
    })?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    if !rootfs.is_dir() {
        return Err(RuntimeError::invalid(
            "root.path",
            format!(
                "{} is not a directory: put the container's root filesystem there",
                rootfs.display()
            ),
        ));
    }
    let linux = spec.linux().clone().unwrap_or_default();

    // ANCHOR: plan_namespaces
    // Namespaces: new ones for clone, paths to join.
    let mut namespaces = Namespaces::none();
    let mut joins = Vec::new();
    let mut new_time = false;
    for ns in linux.namespaces().iter().flatten() {
        let kind = kind_of(ns.typ());
        if let Some(path) = ns.path() {
            if matches!(kind, NamespaceKind::User | NamespaceKind::Mount) {
                return Err(RuntimeError::unsupported(
                    format!("linux.namespaces ({} with path)", kind.proc_name()),
                    "joining an existing user or mount namespace is not supported: drop the path to get a new one",
                ));
            }
            joins.push((kind, path.clone()));
            continue;
        }
        match kind {
            NamespaceKind::User => namespaces.user = true,
            NamespaceKind::Mount => namespaces.mount = true,
            NamespaceKind::Uts => namespaces.uts = true,
            NamespaceKind::Ipc => namespaces.ipc = true,
            NamespaceKind::Net => namespaces.net = true,
            NamespaceKind::Pid => namespaces.pid = true,
            NamespaceKind::Cgroup => namespaces.cgroup = true,
            NamespaceKind::Time => new_time = true,
        }
    }
    // ANCHOR_END: plan_namespaces
    if !namespaces.mount {
        log.warn("linux.namespaces has no mount namespace: the container gets one anyway (pivot_root must not change the host's root)");
    }
    let uid_map = id_maps(linux.uid_mappings());
    let gid_map = id_maps(linux.gid_mappings());
    if !namespaces.user && (!uid_map.is_empty() || !gid_map.is_empty()) {
        return Err(RuntimeError::invalid(
            "linux.uidMappings",
            "id mappings need a new user namespace in linux.namespaces",
        ));
    }
    if namespaces.user && (uid_map.is_empty() || gid_map.is_empty()) {
        return Err(RuntimeError::invalid(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if let Some(hostname) = spec.hostname() {
        if !hostname.is_empty() && !namespaces.uts {
            return Err(RuntimeError::invalid(
                "hostname",
                "setting a hostname needs a new uts namespace",
            ));
        }
    }
    if spec.domainname().as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(RuntimeError::unsupported(
            "domainname",
            "setting the NIS domain name is not supported",
        ));
    }

    let mut container = ContainerSpec::new(id, &rootfs, argv);
    container.namespaces = namespaces;
    // No hostname in the config: the new uts namespace keeps the host's
    // name, as runc leaves it (chapter 02 would otherwise use the id).
    container.hostname = match spec.hostname().clone().filter(|h| !h.is_empty()) {
        Some(name) => Some(name),
        None if namespaces.uts => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok()),
        None => None,
    };
    container.env = process
        .env()
        .iter()
        .flatten()
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    container.workdir = Some(process.cwd().clone());
    if !process.cwd().is_absolute() {
        return Err(RuntimeError::invalid(
            "process.cwd",
            "must be an absolute path inside the container",
        ));
    }
    container.uid_map = uid_map;
    container.gid_map = gid_map;
    container.readonly_rootfs = root.readonly().unwrap_or(false);
    container.init = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(INIT_ANNOTATION))
        .is_some_and(|v| v == "true");
    container.pseudo_filesystems = false;

    // Labels only: warnings.
    if let Some(profile) = process.apparmor_profile() {
        log.warn(&format!("process.apparmorProfile {profile:?}: AppArmor profiles are not applied by this runtime"));
    }
    if let Some(label) = process.selinux_label() {
        log.warn(&format!(
            "process.selinuxLabel {label:?}: SELinux labels are not applied by this runtime"
        ));
    }
    if let Some(label) = linux.mount_label() {
        log.warn(&format!(
            "linux.mountLabel {label:?}: SELinux labels are not applied by this runtime"
        ));
    }
    if linux.intel_rdt().is_some() {
        log.warn("linux.intelRdt: Intel RDT (resctrl) is not applied by this runtime");
    }
    // Fields that change what runs: errors.
    for (set, field) in [
        (process.io_priority().is_some(), "process.ioPriority"),
        (process.scheduler().is_some(), "process.scheduler"),
        (
            process.exec_cpu_affinity().is_some(),
            "process.execCPUAffinity",
        ),
        (linux.personality().is_some(), "linux.personality"),
        (linux.memory_policy().is_some(), "linux.memoryPolicy"),
        (linux.net_devices().is_some(), "linux.netDevices"),
    ] {
        if set {
            return Err(RuntimeError::unsupported(
                field,
                "not supported by this runtime: drop the field",
            ));
        }
    }
    if let Some(hooks) = spec.hooks() {
        if hooks
            .start_container()
            .as_ref()
            .is_some_and(|h| !h.is_empty())
        {
            return Err(RuntimeError::unsupported(
                "hooks.startContainer",
                "not supported by this runtime: use createContainer or poststart",
            ));
        }
    }

    let mounts = spec
        .mounts()
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| crate::mounts::parse(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    let devices = crate::devices::parse(linux.devices().as_deref().unwrap_or(&[]))?;
    let rootfs_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => None,
        Some(word) => Some(crate::mounts::propagation_flag(word).ok_or_else(|| {
            RuntimeError::invalid("linux.rootfsPropagation", format!("{word:?} is not one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable"))
        })?),
    };
    let (limits, unified) = crate::resources::limits(linux.resources().as_ref(), log)?;
    let placement = crate::resources::placement(id, linux.cgroups_path().as_deref())?;
    let setup = ProcessSetup::from_process(&process);
    let mut restrictions = Restrictions::from_oci(&spec, &rootfs)?;
    restrictions.check()?;
    // The nodes of linux.devices are made by descriptor inside the rootfs (devices.rs).
    restrictions.device_nodes.clear();
    // As runc: after the config's device rules come the runtime's own — the
    // default devices every container gets (/dev/null, /dev/ptmx, /dev/pts/*…)
    // and each node of linux.devices. podman sends just "deny all".
    // (Without rules in the config, chapter 07 starts from these defaults already.)
    if linux
        .resources()
        .as_ref()
        .is_some_and(|r| r.devices().is_some())
    {
        restrictions.device_rules.extend(
            ch07_security::devices::default_rules()
                .into_iter()
                .filter(|r| r.allow),
        );
    }
    for node in &devices {
        use ch03_cgroups::devices::{Access, DeviceKind, DeviceRule};
        let kind = if node.kind == nix::sys::stat::SFlag::S_IFBLK {
            DeviceKind::Block
        } else {
            DeviceKind::Char
        };
        if node.kind != nix::sys::stat::SFlag::S_IFIFO {
            let (major, minor) = (
                u32::try_from(node.major).ok(),
                u32::try_from(node.minor).ok(),
            );
            restrictions
                .device_rules
                .push(DeviceRule::allow(kind, major, minor, Access::ALL));
        }
    }
    let caps = &mut restrictions.capabilities;
    let unraisable: Vec<String> = caps
        .ambient
        .iter()
        .filter(|c| !(caps.permitted.contains(c) && caps.inheritable.contains(c)))
        .map(|c| c.to_string())
        .collect();
    if !unraisable.is_empty() {
        let mut names = unraisable;
        names.sort();
        log.warn(&format!("process.capabilities.ambient: {} not also inheritable and permitted, so not raised (as runc)", names.join(", ")));
        let (permitted, inheritable) = (caps.permitted.clone(), caps.inheritable.clone());
        caps.ambient
            .retain(|c| permitted.contains(c) && inheritable.contains(c));
    }
    // HOME (and USER) from the rootfs's /etc/passwd when the config lacks them, as runc does.
    for (key, value) in restrictions.env() {
        if !container.env.iter().any(|(k, _)| *k == key) {
            container.env.push((key, value));
        }
    }
    let sysctl = crate::sysctl::check(
        linux.sysctl().as_ref(),
        crate::sysctl::Owned {
            ipc: namespaces.ipc,
            net: namespaces.net,
            uts: namespaces.uts,
        },
    )?;
    let console_size = process.console_size().as_ref().map(|b| {
        (
            b.height().min(u16::MAX as u64) as u16,
            b.width().min(u16::MAX as u64) as u16,
        )
    });
    let offset = |clock: &str| {
        linux
            .time_offsets()
            .as_ref()
            .and_then(|o| o.get(clock))
            .map_or((0, 0), |o| {
                (o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0))
            })
    };
    if linux.time_offsets().is_some() && !new_time {
        return Err(RuntimeError::invalid(
            "linux.timeOffsets",
            "offsets need a new time namespace in linux.namespaces",
        ));
    }
    if let Some(clock) = linux
        .time_offsets()
        .iter()
        .flat_map(|o| o.keys())
        .find(|k| !matches!(k.as_str(), "monotonic" | "boottime"))
    {
        return Err(RuntimeError::invalid(
            "linux.timeOffsets",
            format!("{clock:?}: only monotonic and boottime have offsets"),
        ));
    }
    container.join = joins;
    container.time_offsets = new_time.then(|| TimeOffsets {
        monotonic: offset("monotonic"),
        boottime: offset("boottime"),
    });
    Ok(Plan {
        bundle: bundle.to_path_buf(),
        container,
        mounts,
        devices,
        rootfs_propagation,
        limits,
        unified,
        placement,
        process: setup,
        restrictions,
        sysctl,
        terminal: process.terminal().unwrap_or(false),
        console_size,
        spec,
    })
}
// ANCHOR_END: plan
