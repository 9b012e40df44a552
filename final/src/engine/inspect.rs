//! `inspect`: docker-shaped JSON of a container (or an image, chapter 05's).

use super::record::{Record, State};
use super::Engine;
use serde_json::{json, Value};

// ANCHOR: inspect
/// docker's field names: State, Config, HostConfig, Mounts, GraphDriver.
pub fn container(engine: &Engine, record: &Record, state: &State) -> Value {
    let paths = engine.containers.paths(&record.id);
    let plan = super::rootfs::load(&paths).ok();
    let h = &record.host_config;
    json!({
        "Id": record.id,
        "Created": record.created,
        "Path": record.config.path_and_args.first(),
        "Args": record.config.path_and_args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": state.status.to_string(),
            "Running": state.is_running(),
            "Paused": false,
            "Restarting": false,
            "OOMKilled": state.oom_killed,
            "Dead": state.status == super::record::Status::Dead,
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
        },
        "Image": record.image_id,
        "Name": format!("/{}", record.name),
        "LogPath": paths.log(),
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": {
            "Memory": h.memory,
            "MemorySwap": h.memory,
            "NanoCpus": h.nano_cpus,
            "PidsLimit": h.pids_limit,
            "ReadonlyRootfs": h.readonly_rootfs,
            "Privileged": h.privileged,
            "CapAdd": h.cap_add,
            "CapDrop": h.cap_drop,
            "SecurityOpt": h.security_opt,
            "GroupAdd": h.group_add,
            "Ulimits": h.ulimits,
            "NetworkMode": h.network_mode,
            "PortBindings": super::network::port_bindings(h),
            "Dns": h.dns,
            "ExtraHosts": h.extra_hosts,
            "Init": h.init,
            "Runtime": h.runtime,
            "AutoRemove": h.auto_remove,
            "Binds": h.binds.iter().map(|b| format!("{}:{}{}", b.source.display(), b.destination, if b.read_only { ":ro" } else { "" })).collect::<Vec<_>>(),
            "Tmpfs": h.tmpfs.iter().map(|(p, o)| (p.clone(), o.clone())).collect::<std::collections::BTreeMap<_, _>>(),
        },
        "Mounts": h.binds.iter().map(|b| json!({
            "Type": "bind", "Source": b.source, "Destination": b.destination,
            "Mode": if b.read_only { "ro" } else { "" }, "RW": !b.read_only, "Propagation": "rprivate"
        })).collect::<Vec<_>>(),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": plan.as_ref().map(|p| p.lowers.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(":")),
                "UpperDir": plan.as_ref().map(|p| p.upper.clone()),
                "WorkDir": plan.as_ref().map(|p| p.work.clone()),
                "MergedDir": paths.rootfs(),
            }
        },
        "Config": {
            "Hostname": record.config.hostname,
            "User": record.config.user,
            "Tty": record.config.tty,
            "OpenStdin": record.config.open_stdin,
            "Env": record.config.env,
            "Cmd": record.config.cmd,
            "Entrypoint": record.config.entrypoint,
            "WorkingDir": record.config.working_dir,
            "Image": record.config.image,
        },
        "NetworkSettings": super::network::settings(record, state),
        "Bundle": paths.bundle(),
        "Shim": state.shim.map(|s| s.pid),
    })
}
// ANCHOR_END: inspect
