//! The OCI bundle: `config.json` built from the image's config, the flags
//! and chapter 07's defaults, beside the overlay rootfs.
//!
//! This is the one file every OCI runtime reads — ours, runc, crun — and the
//! whole contract between the engine and the runtime: docker's daemon writes
//! the same (through containerd) for every `docker run`.

use super::containers::Paths;
use super::error::{EngineError, Result};
use super::record::Record;
use super::runtime::RuntimeKind;
use ch03_cgroups::devices::{DeviceKind, DeviceRule};
use ch07_security::cli::SecurityFlags;
use ch07_security::{Restrictions, SeccompChoice};
use serde_json::{json, Value};
use std::path::Path;

/// `--security-opt` values: the seccomp profile and no-new-privileges.
/// A value that says nothing clear is an error, never the default.
pub fn security_opts(opts: &[String]) -> Result<(SeccompChoice, bool)> {
    let mut seccomp = SeccompChoice::Default;
    let mut no_new_privileges = false;
    for opt in opts {
        let (key, value) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), "true"));
        let invalid = |what: &str| EngineError::Invalid(format!("--security-opt {opt:?}: {what}"));
        match (key, value) {
            ("seccomp", "" | "true") => {
                return Err(invalid(
                    "say which profile: seccomp=default, seccomp=unconfined or seccomp=/path/to/profile.json",
                ))
            }
            ("seccomp", value) => {
                seccomp = match value.parse::<SeccompChoice>() {
                    Ok(choice) => choice,
                    Err(never) => match never {},
                }
            }
            ("no-new-privileges", "true") => no_new_privileges = true,
            ("no-new-privileges", "false") => no_new_privileges = false,
            ("no-new-privileges", _) => {
                return Err(invalid("no-new-privileges takes true or false"))
            }
            _ => {
                return Err(invalid(
                    "only seccomp=PROFILE|unconfined and no-new-privileges are supported",
                ))
            }
        }
    }
    Ok((seccomp, no_new_privileges))
}

/// The record's security settings → chapter 07's flags.
pub fn security_flags(record: &Record) -> Result<SecurityFlags> {
    let host = &record.host_config;
    let (seccomp, no_new_privileges) = security_opts(&host.security_opt)?;
    Ok(SecurityFlags {
        cap_drop: host.cap_drop.clone(),
        cap_add: host.cap_add.clone(),
        seccomp,
        no_new_privileges,
        user: (!record.config.user.is_empty()).then(|| record.config.user.clone()),
        group_add: host.group_add.clone(),
        ulimit: host.ulimits.iter().map(|u| u.flag()).collect(),
        privileged: host.privileged,
    })
}

fn device_rule(rule: &DeviceRule) -> Value {
    let access: String = [
        (rule.access.read, 'r'),
        (rule.access.write, 'w'),
        (rule.access.mknod, 'm'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect();
    let mut v = json!({
        "allow": rule.allow,
        "type": match rule.kind { DeviceKind::Char => "c", DeviceKind::Block => "b", DeviceKind::All => "a" },
        "access": access,
    });
    if let Some(major) = rule.major {
        v["major"] = json!(major);
    }
    if let Some(minor) = rule.minor {
        v["minor"] = json!(minor);
    }
    v
}

fn cap_names(set: &caps::CapsHashSet) -> Vec<String> {
    let mut names: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    names.sort();
    names
}

/// The files docker bind-mounts over the image's: /etc/hostname, /etc/hosts, /etc/resolv.conf.
pub fn write_etc_files(paths: &Paths, hostname: &str) -> Result<()> {
    let files = [
        ("hostname", format!("{hostname}\n")),
        (
            "hosts",
            format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n"),
        ),
        ("resolv.conf", std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
    ];
    for (name, text) in files {
        let path = paths.dir.join(name);
        std::fs::write(&path, text).map_err(EngineError::io("writing", &path))?;
    }
    Ok(())
}

// ANCHOR: spec
/// config.json for `record`, whose rootfs is mounted at `paths.rootfs()`.
/// Returns the spec and chapter 07's restrictions it came from.
pub fn build(
    record: &Record,
    paths: &Paths,
    runtime: &RuntimeKind,
) -> Result<(Value, Restrictions)> {
    let host = &record.host_config;
    let config = &record.config;
    // Chapter 07: docker's capability set, seccomp profile, masked paths,
    // device rules — or --privileged — with the user looked up in the
    // image's own /etc/passwd.
    let r = Restrictions::from_flags(&security_flags(record)?, &paths.rootfs())?;
    let mut env = config.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", r.user.home));
    }
    let caps = &r.capabilities;
    let process = json!({
        "terminal": config.tty,
        "user": {"uid": r.user.uid, "gid": r.user.gid, "additionalGids": r.user.additional_gids},
        "args": config.path_and_args,
        "env": env,
        "cwd": if config.working_dir.is_empty() { "/" } else { &config.working_dir },
        "capabilities": {
            "bounding": cap_names(&caps.bounding), "effective": cap_names(&caps.effective),
            "permitted": cap_names(&caps.permitted), "inheritable": cap_names(&caps.inheritable),
            "ambient": cap_names(&caps.ambient)
        },
        "noNewPrivileges": r.no_new_privileges,
        // --ulimit: setrlimit(2) in the container, by whichever runtime.
        "rlimits": r.rlimits.iter().map(|l| json!({
            "type": format!("RLIMIT_{}", ch07_security::rlimits::name_of(l.resource).to_uppercase()),
            "soft": l.soft, "hard": l.hard,
        })).collect::<Vec<_>>(),
    });
    let sys_options = if host.privileged {
        json!(["nosuid", "noexec", "nodev"])
    } else {
        json!(["nosuid", "noexec", "nodev", "ro"])
    };
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    ];
    for name in ["hostname", "hosts", "resolv.conf"] {
        mounts.push(
            json!({"destination": format!("/etc/{name}"), "type": "bind",
            "source": paths.dir.join(name), "options": ["rbind", "rprivate"]}),
        );
    }
    for bind in &host.binds {
        let mode = if bind.read_only { "ro" } else { "rw" };
        mounts.push(
            json!({"destination": bind.destination, "type": "bind", "source": bind.source,
            "options": ["rbind", "rprivate", mode]}),
        );
    }
    for (path, options) in &host.tmpfs {
        let options: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
        mounts.push(
            json!({"destination": path, "type": "tmpfs", "source": "tmpfs", "options": options}),
        );
    }
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if host.network_mode != "host" {
        // --network none: a namespace of its own with only loopback.
        namespaces.push(json!({"type": "network"}));
    }
    let mut resources =
        json!({"devices": r.device_rules.iter().map(device_rule).collect::<Vec<_>>()});
    if host.memory > 0 {
        // Swap equal to the limit: no swap beyond it, so an OOM is an OOM.
        resources["memory"] = json!({"limit": host.memory, "swap": host.memory});
    }
    if host.nano_cpus > 0 {
        resources["cpu"] = json!({"quota": host.nano_cpus / 10_000, "period": 100_000});
    }
    if let Some(limit) = host.pids_limit {
        resources["pids"] = json!({"limit": limit});
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources,
        "maskedPaths": r.masked_paths,
        "readonlyPaths": r.readonly_paths,
    });
    // docker's default seccomp profile (chapter 07), for every runtime:
    // chapter 08 compiles it with chapter 07 as runc does with libseccomp.
    if let Some(seccomp) = &r.seccomp {
        linux["seccomp"] = serde_json::to_value(seccomp.profile())
            .map_err(|e| EngineError::Invalid(format!("the seccomp profile: {e}")))?;
    }
    if let RuntimeKind::Binary(_) = runtime {
        // runc and crun need to be told where the cgroup goes; chapter 08's
        // default is chapter 03's (minibox/<id> on v1, /minibox/<id> on v2).
        linux["cgroupsPath"] = json!(default_cgroups_path(&record.id));
    }
    let mut annotations = json!({
        "org.opencontainers.image.ref.name": record.image_ref,
        "io.minibox.name": record.name,
    });
    if host.init {
        annotations[ch08_runtime::config::INIT_ANNOTATION] = json!("true");
    }
    let spec = json!({
        "ociVersion": ch08_runtime::state::OCI_VERSION,
        "process": process,
        "root": {"path": "rootfs", "readonly": host.readonly_rootfs},
        "hostname": config.hostname,
        "mounts": mounts,
        "linux": linux,
        "annotations": annotations,
    });
    Ok((spec, r))
}
// ANCHOR_END: spec

/// Chapter 03's default place for a container's cgroup, per layout.
pub fn default_cgroups_path(id: &str) -> String {
    let v2_only = ch03_cgroups::CgroupLayout::detect()
        .map(|l| l.kind == ch03_cgroups::LayoutKind::Unified)
        .unwrap_or(true);
    if v2_only {
        format!("{}/{id}", ch03_cgroups::placement::DEFAULT_V2_PARENT)
    } else {
        format!("{}/{id}", ch03_cgroups::placement::DEFAULT_V1_PARENT)
    }
}

/// Checks `spec` against oci-spec's types and writes it as config.json.
pub fn write(spec: &Value, path: &Path) -> Result<()> {
    let typed: oci_spec::runtime::Spec = serde_json::from_value(spec.clone()).map_err(|e| {
        EngineError::Invalid(format!("the bundle's config.json would be invalid: {e}"))
    })?;
    super::lock::write_json(path, &typed)
}
