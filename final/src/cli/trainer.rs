//! Trainer mode for the whole stack: `--pause` stops at the boundaries
//! with the host-side commands, real PIDs and paths filled in.

use ch01_chroot::trainer::{pause, HostCommand};
use minibox::Engine;

pub fn bundle_written(engine: &Engine, id: &str) {
    let paths = engine.containers.paths(id);
    pause(
        "bundle written: config.json + the overlay rootfs (nothing runs yet)",
        &[
            HostCommand::new(format!("jq . {}", paths.config_json().display()), "the OCI config the runtime will read: process, mounts, namespaces, capabilities, seccomp"),
            HostCommand::new(format!("findmnt {}", paths.rootfs().display()), "chapter 04's overlay, mounted on the host as containerd's snapshotter does"),
        ],
    );
}

pub fn created(engine: &Engine, id: &str, init: i32) {
    let network = engine
        .containers
        .state(id)
        .map(|s| minibox::engine::network::host_commands(&s, init))
        .unwrap_or_default();
    pause(
        "created, not started: the container's init waits at the exec FIFO",
        &[
            HostCommand::new(
                "ps axf",
                format!(
                    "the shim (minibox shim {}) and its child, PID {init}",
                    &id[..12]
                ),
            ),
            HostCommand::new(
                format!(
                    "ch08-runtime --root {} state {id}",
                    engine.runtime_root().display()
                ),
                "the runtime's view: status created",
            ),
            HostCommand::new(format!("lsns -p {init}"), "the new namespaces"),
            HostCommand::new(format!("cat /proc/{init}/cgroup"), "its cgroup"),
        ]
        .into_iter()
        .chain(network.into_iter().map(|(c, why)| HostCommand::new(c, why)))
        .collect::<Vec<_>>(),
    );
}

pub fn running(engine: &Engine, id: &str, init: i32) {
    pause(
        "running",
        &[
            HostCommand::new(
                "ps axf",
                "CLI, shim, container: the same tree as docker → containerd-shim → process",
            ),
            HostCommand::new(
                format!(
                    "ch08-runtime --root {} state {id}",
                    engine.runtime_root().display()
                ),
                "status running",
            ),
            HostCommand::new(
                format!("cat /proc/{init}/status | grep -E 'Cap|Seccomp|NoNewPrivs'"),
                "chapter 07's restrictions on the container's process",
            ),
            HostCommand::new(format!("nsenter -t {init} -a ps"), "inside, from the host"),
        ],
    );
}
