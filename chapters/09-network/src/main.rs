//! `ch09-network`: run a command in chapter 02's namespaces, connected to a
//! bridge network like `docker run` connects to docker0 — with published
//! ports, outbound NAT and its own /etc/hosts — and remove it all at exit.

mod trainer;

use anyhow::{bail, Context};
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::forward::{catch_stop_signals, forward_to};
use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::{ContainerSpec, Hooks, NamespaceError, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::{Cgroup, CgroupLayout, JoinCgroup, Placement};
use ch09_network::etc_files::MadeFiles;
use ch09_network::{
    AttachRequest, AttachmentGuard, ConnectToBridge, NetworkConfig, NetworkError, PortMapping,
    Subnet, DEFAULT_BRIDGE,
};
use clap::Parser;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Run CMD in its own namespaces, connected to a bridge: an address of its
/// own, outbound NAT, published ports, /etc/hosts and resolv.conf.
#[derive(Debug, Parser)]
#[command(name = "ch09-network", version)]
struct Cli {
    /// The root filesystem (make one with `minibox rootfs DIR`).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// The bridge to connect to; created (and removed after the last container) if missing.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_BRIDGE)]
    bridge: String,
    /// The bridge's subnet, when we create it (default 172.17.0.0/16, or the
    /// next free one of docker's pools).
    #[arg(long, value_name = "CIDR")]
    subnet: Option<Subnet>,
    /// Publish a port: host port → container port, like `docker run -p` (repeatable).
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "[IP:]HOSTPORT:CTRPORT[/tcp|udp]"
    )]
    publish: Vec<PortMapping>,
    /// The container's name: its lease, its hostname (default ch09-<our PID>).
    #[arg(long)]
    name: Option<String>,
    /// A nameserver for the container's resolv.conf (repeatable; default: the host's).
    #[arg(long, value_name = "IP")]
    dns: Vec<Ipv4Addr>,
    /// An extra /etc/hosts line, like `docker run --add-host` (repeatable).
    #[arg(long, value_name = "NAME:IP", value_parser = parse_add_host)]
    add_host: Vec<(String, Ipv4Addr)>,
    #[command(flatten)]
    limits: LimitFlags,
    /// Trainer mode: once the command runs, stop and print what to look at from the host.
    #[arg(long)]
    pause: bool,
    #[command(flatten)]
    narration: NarrationFlags,
    /// The command to run and its arguments.
    #[arg(last = true, value_name = "CMD", required = true)]
    command: Vec<String>,
}

fn parse_add_host(text: &str) -> Result<(String, Ipv4Addr), String> {
    let (name, ip) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected NAME:IP, e.g. db:172.17.0.5"))?;
    let ip = ip
        .parse()
        .map_err(|_| format!("{text:?}: {ip:?} is not an IPv4 address"))?;
    ch02_namespaces::spec::validate_hostname(name).map_err(|e| e.to_string())?;
    Ok((name.to_string(), ip))
}

fn main() {
    let cli = Cli::parse();
    exit_with::<NamespaceError>("ch09-network", run(cli), NamespaceError::exit_code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch09");
    if !nix::unistd::geteuid().is_root() {
        bail!(NetworkError::NotRoot);
    }
    let name = cli
        .name
        .clone()
        .unwrap_or_else(|| format!("ch09-{}", std::process::id()));
    // The name becomes a lease, a hostname, a cgroup: checked before anything exists.
    ch02_namespaces::spec::validate_name(&name)?;
    let config = NetworkConfig::new(&cli.bridge, cli.subnet)?;
    let cgroup = create_cgroup(&cli, &name, &narrator)?;

    let mut spec = ContainerSpec::new(&name, &cli.rootfs, cli.command.clone());
    // Chapter 02's namespaces, with a network namespace of its own.
    spec.namespaces = Namespaces {
        mount: true,
        pid: true,
        uts: true,
        ipc: true,
        net: true,
        cgroup: cgroup.is_some(),
        ..Namespaces::none()
    };
    let request = AttachRequest {
        name: name.clone(),
        // Filled in by the hook once the container exists.
        netns: ch09_network::NetnsRef::Pid(0),
        owner: None,
        hostname: name.clone(),
        ports: cli.publish.clone(),
        dns: cli.dns.clone(),
        extra_hosts: cli.add_host.clone(),
    };
    // From here on Ctrl-C and kill go to the container, and we stay to clean up.
    catch_stop_signals().context("installing signal handlers")?;
    // /etc/resolv.conf and friends must exist to be mounted over.
    let made = MadeFiles::create_missing(&cli.rootfs);
    let result = run_connected(&cli, &spec, config, request, cgroup.as_ref(), &narrator);
    made.remove();
    if let Some(cgroup) = cgroup {
        cgroup.remove().context("removing the container's cgroup")?;
    }
    let exit = result?;
    Ok(exit.shell_code())
}

/// Spawns the container with the network hook, waits, and detaches —
/// whether it started or not.
fn run_connected(
    cli: &Cli,
    spec: &ContainerSpec,
    config: NetworkConfig,
    request: AttachRequest,
    cgroup: Option<&Cgroup>,
    narrator: &Narrator,
) -> anyhow::Result<Exit> {
    let mut join = cgroup.map(|cgroup| JoinCgroup { cgroup });
    let mut hooks = ConnectToBridge::new(config, request, narrator.clone());
    if let Some(join) = join.as_mut() {
        hooks = hooks.with_inner(join as &mut dyn Hooks);
    }
    let spawned = ch02_namespaces::spawn(spec, &mut hooks, narrator);
    // Owned from here: whatever happens next, dropping it removes the network.
    let guard = hooks
        .take_attachment()
        .map(|a| AttachmentGuard::new(a, narrator.clone()));
    let container = spawned
        .with_context(|| format!("starting {:?} in {}", spec.argv, spec.rootfs.display()))?;
    if let Err(errno) = forward_to(container.pid()) {
        let _ = container.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = container.wait();
        bail!("passing signals on to the container: {errno}");
    }
    if let (true, Some(guard)) = (cli.pause, guard.as_ref()) {
        if let Some(attachment) = guard.attachment() {
            trainer::pause_for_trainer(container.pid(), attachment);
        }
    }
    let exit = container.wait().context("waiting for the container")?;
    narrator.step(&format!("command {exit}"));
    if let Some(guard) = guard {
        guard.detach().context("removing the container's network")?;
    }
    Ok(exit)
}

/// Chapter 03's cgroup, when a limit was asked for.
fn create_cgroup(cli: &Cli, name: &str, narrator: &Narrator) -> anyhow::Result<Option<Cgroup>> {
    let limits = cli.limits.limits();
    if limits.is_empty() {
        return Ok(None);
    }
    limits.validate()?;
    let layout =
        CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?;
    ch03_cgroups::stale::sweep(&layout, narrator);
    let placement = Placement::new(
        &format!("{name}-{}", std::process::id()),
        cli.limits.cgroup_parent.as_deref(),
    )?;
    let cgroup = Cgroup::create(&layout, &placement, &limits, narrator)
        .context("creating the container's cgroup")?;
    Ok(Some(cgroup))
}
