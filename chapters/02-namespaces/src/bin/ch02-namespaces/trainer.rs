//! Trainer mode (`--pause`): what to look at from the host while the
//! container waits. The library holds the command before its execve and
//! calls the demo's `Hooks::command_ready`; this is what the demo does there.

use ch01_chroot::trainer::{pause, HostCommand};
use ch02_namespaces::{ContainerSpec, Namespaces};
use nix::unistd::Pid;

/// The command's host PID: init's only child at this point.
fn command_pid(init: Pid) -> Option<Pid> {
    let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).ok()?;
    children
        .split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Pid::from_raw)
}

/// Prints the host-side commands, with the real PIDs, and waits for Enter.
pub fn pause_for_trainer(init: Pid, spec: &ContainerSpec) {
    let command = command_pid(init).unwrap_or(init);
    let parent = nix::unistd::getpid();
    // The mount namespace is always made, whether --mount was given or not.
    let made = Namespaces {
        mount: true,
        ..spec.namespaces
    };
    pause(
        &format!(
            "container {:?} is ready: init is host PID {init}, the command (not yet exec'd) host PID {command}",
            spec.name
        ),
        &[
            HostCommand::new(
                format!("ps axfo pid,ppid,comm,args | grep -A2 '^ *{parent} '"),
                format!("ch02-namespaces ({parent}) → minibox-init ({init}) → the command ({command})"),
            ),
            HostCommand::new(
                format!("lsns -p {command}"),
                format!("the namespaces of {command}: {}", made.names().join(", ")),
            ),
            HostCommand::new(
                format!("readlink /proc/{command}/ns/* ; readlink /proc/$$/ns/*"),
                "different inode numbers = different namespaces (the container's, then your shell's)",
            ),
            HostCommand::new(
                format!("nsenter -t {command} -a /bin/sh"),
                "a shell inside every namespace of the container (what `docker exec` does)",
            ),
            HostCommand::new(
                format!("findmnt -N {command}"),
                "the container's mount table: the rootfs as /, its own /proc, /dev, /sys",
            ),
            HostCommand::new(
                format!("grep -E '^(Uid|Gid|NSpid)' /proc/{command}/status; cat /proc/{command}/uid_map"),
                "the host's view of its IDs: with --user, root inside is an unprivileged uid outside",
            ),
        ],
    );
}
