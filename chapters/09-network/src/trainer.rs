//! Trainer mode: the host's view of what was plumbed, with real names filled in.

use ch01_chroot::trainer::{pause, HostCommand};
use ch09_network::rules::Chains;
use ch09_network::Attachment;
use nix::unistd::Pid;

/// Prints the host-side commands and waits for Enter (the container runs on).
pub fn pause_for_trainer(init: Pid, a: &Attachment) {
    // Started with `ip netns exec NS …`: the learner's shell must enter NS too.
    let (run, ip) = match ch09_network::netns::named_here() {
        Some(ns) => (format!("ip netns exec {ns} "), format!("ip -n {ns}")),
        None => (String::new(), "ip".to_string()),
    };
    let chains = Chains::for_bridge(&a.bridge);
    let mut commands = vec![
        HostCommand::new(
            format!("{run}nsenter -t {init} -n ip addr"),
            format!("inside: lo and eth0 with {}/{}", a.ip, a.subnet.prefix()),
        ),
        HostCommand::new(
            format!("{run}nsenter -t {init} -n ip route"),
            format!("inside: default via {}", a.gateway),
        ),
        HostCommand::new(
            format!("{ip} link show master {}", a.bridge),
            format!(
                "{}: the host's end of the cable, a port of the bridge",
                a.host_veth
            ),
        ),
        HostCommand::new(
            format!("{run}bridge link"),
            "every bridge port (hairpin on shows as \"hairpin on\" with -d)",
        ),
        HostCommand::new(
            format!(
                "{run}iptables -t nat -S {}; {run}iptables -t nat -S {}",
                chains.ports, chains.masquerade
            ),
            "the DNAT for published ports, the masquerade for outbound",
        ),
        HostCommand::new(
            format!("{run}cat {}/{}.json", a.state_dir.display(), a.bridge),
            "the leases: one record per container, enough to tear it all down",
        ),
        HostCommand::new(
            format!("{run}nsenter -t {init} -n ss -ltnp"),
            "the container's listening sockets (a server shows here once it runs)",
        ),
    ];
    if let Some(port) = a.ports.first() {
        commands.push(HostCommand::new(
            format!(
                "{run}busybox wget -qO- http://127.0.0.1:{}/",
                port.host_port
            ),
            format!(
                "the published port, from the host (→ {}:{})",
                a.ip, port.container_port
            ),
        ));
    }
    pause(
        &format!(
            "container {:?} (init host PID {init}) is on {} at {}",
            a.name, a.bridge, a.ip
        ),
        &commands,
    );
}
