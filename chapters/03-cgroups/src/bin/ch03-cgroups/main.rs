//! `ch03-cgroups`: run a command in chapter 02's namespaces, inside its own
//! cgroup with limits, and report what the cgroup saw.

mod hooks;
mod report;
mod supervise;

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, NamespaceError, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::{Cgroup, CgroupLayout, LayoutKind, OomVerdict, Placement};
use clap::Parser;
use std::path::PathBuf;
use std::time::Instant;

/// Run CMD in its own namespaces and its own cgroup: memory, CPU and process
/// limits, accounting, and a report of what the cgroup saw.
#[derive(Debug, Parser)]
#[command(name = "ch03-cgroups", version)]
struct Cli {
    /// The root filesystem (make one with `minibox rootfs DIR`).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    #[command(flatten)]
    limits: LimitFlags,
    /// Show a live line of CPU, memory and PIDs while the command runs (like `docker stats`).
    #[arg(long)]
    stats: bool,
    /// The container's name: its cgroup directory and hostname (default ch03-<our PID>).
    #[arg(long)]
    name: Option<String>,
    /// Also write the final report as JSON to FILE (for scripts and tests).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Trainer mode: stop once the container is in its cgroup, before the command runs.
    #[arg(long)]
    pause: bool,
    #[command(flatten)]
    narration: NarrationFlags,
    /// The command to run and its arguments.
    #[arg(last = true, value_name = "CMD", required = true)]
    command: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    // Everything `run` owns — the cgroup above all — is dropped (and so
    // cleaned up) before we exit.
    exit_with::<NamespaceError>("ch03-cgroups", run(cli), NamespaceError::exit_code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch03");
    let layout =
        CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?;
    describe_layout(&layout, &narrator);
    // What runs killed with `kill -9` left behind (their containers died with them).
    ch03_cgroups::stale::sweep(&layout, &narrator);

    let limits = cli.limits.limits();
    let name = cli
        .name
        .clone()
        .unwrap_or_else(|| format!("ch03-{}", std::process::id()));
    // The name becomes the cgroup's directory and the hostname: checked first.
    ch02_namespaces::spec::validate_name(&name)?;
    let placement = Placement::new(&name, cli.limits.cgroup_parent.as_deref())?;
    let cgroup = Cgroup::create(&layout, &placement, &limits, &narrator)
        .context("creating the container's cgroup")?;

    let mut spec = ContainerSpec::new(&name, &cli.rootfs, cli.command.clone());
    // Chapter 02's namespaces, minus user and net: this chapter is about
    // resources. The cgroup namespace makes the container see its own
    // cgroup as "/" in /proc/self/cgroup.
    spec.namespaces = Namespaces {
        pid: true,
        mount: true,
        uts: true,
        ipc: true,
        cgroup: true,
        ..Namespaces::none()
    };

    supervise::install_signal_handlers().context("installing signal handlers")?;
    let started = Instant::now();
    let mut hook = hooks::DemoHooks::new(&cgroup, &narrator, cli.pause);
    let mut container = ch02_namespaces::spawn(&spec, &mut hook, &narrator)
        .with_context(|| format!("starting {:?} in {}", spec.argv, spec.rootfs.display()))?;
    let exit = supervise::supervise(&mut container, &cgroup, cli.stats, &narrator)?;
    let wall = started.elapsed();

    // Read the counters before the cgroup goes: they die with it.
    let stats = cgroup.stats();
    let verdict = OomVerdict::from_stats(&stats, exit);
    report::print(&narrator, exit, verdict, &stats, wall);
    if let Some(path) = &cli.report {
        report::write_json(path, &cgroup, exit, verdict, &stats, wall)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    cgroup.remove().context("removing the container's cgroup")?;
    Ok(exit.shell_code())
}

fn describe_layout(layout: &CgroupLayout, narrator: &Narrator) {
    narrator.step(&format!("cgroup layout: {}", layout.kind));
    for h in &layout.v1 {
        if !h.controllers.is_empty() {
            narrator.detail(&format!(
                "v1 hierarchy {} ({}), we are in {}",
                h.mount_point.display(),
                h.controllers.join(","),
                h.own_dir.display()
            ));
        }
    }
    if let Some(v2) = &layout.v2 {
        narrator.detail(&format!(
            "cgroup2 at {} offers [{}], we are in {}",
            v2.mount_point.display(),
            v2.controllers.join(" "),
            v2.own_dir.display()
        ));
    }
    match layout.kind {
        LayoutKind::Unified => narrator.observe("one tree: one directory for the container, controllers handed down through cgroup.subtree_control"),
        LayoutKind::Legacy => narrator.observe("v1: one directory per controller hierarchy"),
        LayoutKind::Hybrid => narrator.observe("hybrid: the controllers live on v1, so limits go there; the host's cgroup mounts stay as they are"),
    }
}
