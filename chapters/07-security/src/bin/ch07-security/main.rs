//! `ch07-security`: run a command in chapter 02's namespaces and chapter
//! 03's cgroups, limited in what it may do — and, with `--probe`, try to
//! break out first and show what stopped each attempt.

mod probe;

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, HookError, Hooks, NamespaceError, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::devices::DeviceCgroup;
use ch03_cgroups::{Cgroup, CgroupLayout, JoinCgroup, Placement};
use ch07_security::cli::SecurityFlags;
use ch07_security::{capabilities, Restricted, Restrictions};
use clap::Parser;
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Run CMD as a container limited like docker's: capabilities, seccomp,
/// no_new_privs, masked and read-only paths, device rules, a user.
#[derive(Debug, Parser)]
#[command(name = "ch07-security", version)]
struct Cli {
    /// The root filesystem (make one with `minibox rootfs DIR`).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    #[command(flatten)]
    security: SecurityFlags,
    #[command(flatten)]
    limits: LimitFlags,
    /// Before CMD runs, try the escapes from inside and print what stopped each.
    #[arg(long)]
    probe: bool,
    /// Demo only: do not re-exec from a sealed copy, so /proc/1/exe is this binary on disk.
    #[arg(long)]
    no_sealed_exe: bool,
    /// The container's name: its cgroup and hostname (default ch07-<our PID>).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    narration: NarrationFlags,
    /// The command to run and its arguments.
    #[arg(last = true, value_name = "CMD", required = true)]
    command: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    if !cli.no_sealed_exe {
        // First of all, while single-threaded: from here on /proc/self/exe
        // — and the container init's /proc/1/exe — is an unwritable view.
        if let Err(err) = ch07_security::ensure_sealed_exe() {
            exit_with::<NamespaceError>("ch07-security", Err(err.into()), NamespaceError::exit_code)
        }
    }
    exit_with::<NamespaceError>("ch07-security", run(cli), NamespaceError::exit_code)
}

/// Chapter 03's cgroup and the device rules, restricted; then the probe.
struct DemoHooks<'a> {
    restricted: Restricted<'a, JoinCgroup<'a>>,
    probe: Option<probe::HostFacts>,
}

impl Hooks for DemoHooks<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.restricted.child_created(pid)
    }

    fn before_exec(&self) -> Result<(), HookError> {
        self.restricted.before_exec()?;
        if let Some(host) = &self.probe {
            let r = self.restricted.restrictions;
            if r.user.uid != 0 {
                // What execve will do to a non-root user: only ambient capabilities stay.
                let _ = caps::set(None, caps::CapSet::Effective, &r.capabilities.ambient);
                let _ = caps::set(None, caps::CapSet::Permitted, &r.capabilities.ambient);
            }
            probe::print(&probe::run_all(r, host));
        }
        Ok(())
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch07");
    if let Some(view) = ch07_security::sealed_exe::exe_state() {
        narrator.syscall(
            view.how(),
            &format!(
                "we run from a {}: /proc/1/exe cannot reach a writable file",
                view.why_unwritable()
            ),
        );
    } else {
        narrator.warn("--no-sealed-exe: the container's init is this binary on disk, reachable as /proc/1/exe (CVE-2019-5736)");
    }
    // Everything that can be wrong is found here, before anything exists.
    let restrictions = Restrictions::from_flags(&cli.security, &cli.rootfs)
        .with_context(|| format!("preparing the restrictions for {}", cli.rootfs.display()))?;
    restrictions
        .check()
        .context("checking the resource limits")?;
    describe(&restrictions, &narrator);

    let name = cli
        .name
        .clone()
        .unwrap_or_else(|| format!("ch07-{}", std::process::id()));
    let layout =
        CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?;
    let placement = Placement::new(&name, cli.limits.cgroup_parent.as_deref())?;
    let cgroup = Cgroup::create(&layout, &placement, &cli.limits.limits(), &narrator)
        .context("creating the container's cgroup")?;
    let devices = DeviceCgroup::create(&layout, &placement, &restrictions.device_rules, &narrator)
        .context("creating the device cgroup")?;

    let mut spec = ContainerSpec::new(&name, &cli.rootfs, cli.command.clone());
    spec.namespaces = Namespaces {
        pid: true,
        mount: true,
        uts: true,
        ipc: true,
        net: true,
        cgroup: true,
        ..Namespaces::none()
    };
    for (key, value) in restrictions.env() {
        spec.env.retain(|(k, _)| k != &key);
        spec.env.push((key, value));
    }
    let probe = cli.probe.then(|| probe::HostFacts {
        block_device: host_block_device(&cli.rootfs),
    });
    let mut hooks = DemoHooks {
        restricted: Restricted {
            inner: JoinCgroup { cgroup: &cgroup },
            restrictions: &restrictions,
            devices: Some(&devices),
            narrator: &narrator,
        },
        probe,
    };
    // Like system(3): Ctrl-C reaches the command directly; we outlive it.
    // Safety: SIG_IGN runs no code.
    unsafe {
        let _ = signal(Signal::SIGINT, SigHandler::SigIgn);
        let _ = signal(Signal::SIGQUIT, SigHandler::SigIgn);
    }
    let exit = ch02_namespaces::run(&spec, &mut hooks, &narrator)
        .with_context(|| format!("running {:?} in {}", spec.argv, spec.rootfs.display()))?;
    devices.remove().context("removing the device cgroup")?;
    cgroup.remove().context("removing the container's cgroup")?;
    Ok(exit.shell_code())
}

fn describe(r: &Restrictions, narrator: &Narrator) {
    if r.privileged {
        narrator.warn("--privileged: the container gets EVERYTHING — all capabilities, no seccomp, no masks, every device of the host");
        narrator.warn("only the namespaces remain; root inside can mount the host's disk and load kernel modules");
        return;
    }
    narrator.step(&format!(
        "capabilities: {}",
        capabilities::names(&r.capabilities.bounding)
    ));
    match &r.seccomp {
        Some(s) => narrator.step(&format!(
            "seccomp: {} filter(s), default action {:?}",
            s.program_count(),
            s.profile().default_action()
        )),
        None => narrator.warn("seccomp: unconfined — every system call reaches the kernel"),
    }
    narrator.step(&format!(
        "user: uid {} gid {} groups {:?}, HOME={}",
        r.user.uid, r.user.gid, r.user.additional_gids, r.user.home
    ));
}

/// A block device root may open on this host, for the probe to aim at: on
/// most machines the first disk; some sandboxed VMs refuse their own disk
/// even to root, and a loop device serves.
fn host_block_device(scratch_parent: &Path) -> Option<(u64, u64)> {
    let mut found: Vec<(u64, u64)> = std::fs::read_dir("/sys/dev/block")
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let (major, minor) = name.split_once(':')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    found.sort_by_key(|&(major, minor)| (major == 7, major, minor));
    let scratch = tempfile_in(scratch_parent)?;
    let node = scratch.join("disk");
    let hit = found.into_iter().find(|&(major, minor)| {
        let _ = std::fs::remove_file(&node);
        nix::sys::stat::mknod(
            &node,
            nix::sys::stat::SFlag::S_IFBLK,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            nix::sys::stat::makedev(major, minor),
        )
        .is_ok()
            && std::fs::File::open(&node).is_ok()
    });
    let _ = std::fs::remove_file(&node);
    let _ = std::fs::remove_dir(&scratch);
    hit
}

/// A private scratch directory next to the rootfs (same filesystem, no nodev).
fn tempfile_in(parent: &Path) -> Option<PathBuf> {
    let base = parent.parent().unwrap_or(Path::new("/tmp"));
    let dir = base.join(format!(".ch07-probe-{}", std::process::id()));
    std::fs::create_dir(&dir).ok()?;
    Some(dir)
}
