//! `ch04-overlay`: run a command on read-only layers plus a fresh writable
//! layer, then show what it changed (`docker diff`) and throw the layer away.
//! With `--memory`/`--cpus`/`--pids`, each container also gets its own cgroup
//! (chapter 03): chapters 02, 03 and 04 composed.

use anyhow::{bail, Context};
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::forward::{catch_stop_signals, forward_to};
use ch01_chroot::narrate::write_line;
use ch01_chroot::trainer::{pause, HostCommand};
use ch01_chroot::Narrator;
use ch02_namespaces::{Container, ContainerSpec, NamespaceError, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::{CgroupLayout, Limits, Placement};
use ch04_overlay::usage::{disk_usage, human};
use ch04_overlay::{diff, ChangeKind, OverlayContainer, PathForm, StateDir, XattrNamespace};
use clap::Parser;
use colored::Colorize;
use std::path::PathBuf;

/// Run CMD on an overlay: read-only layers, shared, plus a writable layer of its own.
#[derive(Debug, Parser)]
#[command(name = "ch04-overlay", version)]
struct Cli {
    /// A read-only layer (a directory). The first is the bottom (the base
    /// rootfs); each next one goes on top, as in a Dockerfile.
    #[arg(long = "layer", value_name = "DIR", required = true)]
    layers: Vec<PathBuf>,
    /// Keep the writable layer after exit (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Where the per-container state (upper/, work/, merged/) is created.
    #[arg(long, value_name = "DIR", default_value_os_t = std::env::temp_dir())]
    state_dir: PathBuf,
    /// Start N containers at once on the same layers and show what each costs on disk.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    many: Option<u32>,
    /// The container's name: its hostname, and with a limit its cgroup
    /// (NAME-<our PID>, so two runs never share one). With --many: NAME-1, NAME-2, …
    #[arg(long, default_value = "ch04")]
    name: String,
    #[command(flatten)]
    limits: LimitFlags,
    /// Also a user namespace: container root is host UID 100000, and the
    /// overlay is mounted with `userxattr`.
    #[arg(long)]
    userns: bool,
    /// Trainer mode: stop after the mount (inside the container) and after exit.
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
    exit_with::<NamespaceError>("ch04-overlay", run(cli), NamespaceError::exit_code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch04");
    if !nix::unistd::geteuid().is_root() {
        bail!("mounting overlayfs and creating namespaces needs root: run it with sudo");
    }
    sweep_state_dirs(&cli.state_dir, &narrator);
    // Names become hostnames and cgroup directories: checked before anything exists.
    ch02_namespaces::spec::validate_name(&cli.name)?;
    let cgroups = cgroup_plan(&cli, &narrator)?;
    // From here on Ctrl-C and kill go to the containers, and we stay to clean up.
    catch_stop_signals().context("installing signal handlers")?;
    match cli.many {
        Some(count) => run_many(&cli, count, cgroups.as_ref(), &narrator),
        None => run_one(&cli, cgroups.as_ref(), &narrator),
    }
}

/// Removes the state directories of runs that were killed (`kill -9`): their
/// owner is gone, and so is their container (it died with its supervisor).
fn sweep_state_dirs(parent: &std::path::Path, narrator: &Narrator) {
    for dir in ch04_overlay::state::find_stale(parent, STATE_PREFIX) {
        match ch04_overlay::state::remove_stale(&dir) {
            Ok(()) => narrator.step(&format!(
                "removed {}: left behind by a run that was killed (its owner is gone)",
                dir.display()
            )),
            Err(err) => narrator.warn(&format!("not removing {}: {err}", dir.display())),
        }
    }
}

/// The name every state directory starts with.
const STATE_PREFIX: &str = "ch04-overlay-";

/// What chapter 03 needs to give each container its cgroup.
struct CgroupPlan {
    layout: CgroupLayout,
    limits: Limits,
}

/// `None` when no limit was asked for: then the containers get no cgroup of their own.
fn cgroup_plan(cli: &Cli, narrator: &Narrator) -> anyhow::Result<Option<CgroupPlan>> {
    let limits = cli.limits.limits();
    if limits.is_empty() {
        return Ok(None);
    }
    // A typo fails here, before any layer or cgroup exists.
    limits.validate()?;
    let layout =
        CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?;
    narrator.step(&format!(
        "cgroup layout: {} — one cgroup per container, made by chapter 03",
        layout.kind
    ));
    // What runs killed with `kill -9` left behind (their containers died with them).
    ch03_cgroups::stale::sweep(&layout, narrator);
    Ok(Some(CgroupPlan { layout, limits }))
}

/// The container's cgroup, with the limits written, empty until its init joins.
fn create_cgroup(
    cli: &Cli,
    plan: Option<&CgroupPlan>,
    container: &mut OverlayContainer,
    name: &str,
    narrator: &Narrator,
) -> anyhow::Result<()> {
    let Some(plan) = plan else {
        return Ok(());
    };
    // Our PID in the name: two runs of the same NAME never share a cgroup.
    let id = format!("{name}-{}", std::process::id());
    let placement = Placement::new(&id, cli.limits.cgroup_parent.as_deref())?;
    container
        .create_cgroup(&plan.layout, &placement, &plan.limits, narrator)
        .with_context(|| format!("creating {name}'s cgroup"))?;
    Ok(())
}

/// overlayfs wants the top layer first; the command line lists the bottom first.
fn lowers_top_first(cli: &Cli) -> Vec<PathBuf> {
    cli.layers.iter().rev().cloned().collect()
}

fn xattrs(cli: &Cli) -> XattrNamespace {
    if cli.userns {
        XattrNamespace::User
    } else {
        XattrNamespace::Trusted
    }
}

/// How messages name the container's root: by its layers, since the
/// overlay's mount point is gone by the time an error is read.
fn layers_description(cli: &Cli) -> String {
    let layers: Vec<String> = cli.layers.iter().map(|l| l.display().to_string()).collect();
    match layers.as_slice() {
        [one] => format!("the layer {one}"),
        many => format!("the layers {}", many.join(" + ")),
    }
}

fn spec_for(cli: &Cli, name: &str, rootfs: PathBuf, own_cgroup: bool) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, rootfs, cli.command.clone());
    spec.rootfs_description = Some(layers_description(cli));
    spec.namespaces = Namespaces {
        mount: true,
        pid: true,
        uts: true,
        ipc: true,
        net: true,
        user: cli.userns,
        // With a cgroup of its own, the container sees it as "/" (chapter 03).
        cgroup: own_cgroup,
        ..Namespaces::none()
    };
    spec
}

/// One container, ready to start: its writable layer, mount plan and
/// cgroup (chapter 04's library), and the spec chapter 02 runs.
struct Prepared {
    container: OverlayContainer,
    spec: ContainerSpec,
}

/// The host user that is root inside the container (for `--userns`).
fn container_root_on_host(spec: &ContainerSpec) -> (u32, u32) {
    let root = |maps: &[ch02_namespaces::IdMapping]| {
        maps.iter()
            .find(|m| m.container_id == 0)
            .map(|m| m.host_id)
            .unwrap_or(0)
    };
    (root(&spec.uid_map), root(&spec.gid_map))
}

/// One container's writable layer, mount plan and cgroup, made on the host before it starts.
fn prepare(
    cli: &Cli,
    name: &str,
    cgroups: Option<&CgroupPlan>,
    narrator: &Narrator,
) -> anyhow::Result<Prepared> {
    // A known id (name and our PID): the directory can be found again.
    let id = format!("{STATE_PREFIX}{name}-{}", std::process::id());
    let mut container =
        OverlayContainer::prepare(&cli.state_dir, &id, &lowers_top_first(cli), xattrs(cli))
            .with_context(|| format!("preparing {name}'s writable layer and overlay mount"))?
            .with_pause(cli.pause);
    let spec = spec_for(cli, name, container.rootfs(), cgroups.is_some());
    let (state, plan) = (container.state(), container.plan());
    if cli.userns {
        let (uid, gid) = container_root_on_host(&spec);
        container.hand_over(uid, gid)?;
        narrator.step(&format!(
            "chown {uid}:{gid} {} — root in the user namespace is host UID {uid}; it must own its upper/work",
            state.path().display()
        ));
        warn_about_unmapped_layers(cli, &spec, narrator);
    }
    narrator.step(&format!(
        "{name}: writable layer {} (work/ beside it, same filesystem), {} read-only layer(s) shared",
        state.upper().display(),
        plan.lowers.len()
    ));
    match &plan.form {
        PathForm::Absolute => narrator.detail(&format!(
            "options with absolute paths: {} of the {} bytes one page allows",
            plan.options.len(),
            ch04_overlay::options::MOUNT_DATA_MAX
        )),
        PathForm::ShortLinks { base } => narrator.observe(&format!(
            "absolute paths would take {} bytes, over the {}-byte page mount(2) copies: using short links {}/l/0… ({} bytes)",
            plan.absolute_len,
            ch04_overlay::options::MOUNT_DATA_MAX,
            base.display(),
            plan.options.len()
        )),
    }
    create_cgroup(cli, cgroups, &mut container, name, narrator)?;
    Ok(Prepared { container, spec })
}

/// In a user namespace, files owned by host IDs outside the map show up as
/// nobody (65534) and cannot be copied up: overlayfs would have to create the
/// upper copy with an owner the namespace cannot express (EOVERFLOW).
fn warn_about_unmapped_layers(cli: &Cli, spec: &ContainerSpec, narrator: &Narrator) {
    use std::os::unix::fs::MetadataExt;
    let mapped = |uid: u32| {
        spec.uid_map
            .iter()
            .any(|m| uid >= m.host_id && uid - m.host_id < m.count)
    };
    for layer in &cli.layers {
        if let Ok(owner) = std::fs::metadata(layer).map(|m| m.uid()) {
            if !mapped(owner) {
                narrator.warn(&format!(
                    "layer {} belongs to host UID {owner}, outside the container's ID map: inside it is owned by nobody and read-only (writing its files fails with EOVERFLOW); `chown -R` a copy into the map, as docker's userns-remap does",
                    layer.display()
                ));
            }
        }
    }
}

// ANCHOR: forward
fn start(
    container: &OverlayContainer,
    spec: &ContainerSpec,
    narrator: &Narrator,
) -> anyhow::Result<Container> {
    let running = container
        .start(spec, None, narrator)
        .with_context(|| format!("starting {:?} on the overlay", spec.argv))?;
    // Only now do Ctrl-C and kill reach it: spawn returns once init has
    // blocked signals and forked the command. A stop signal that came
    // during start-up was kept for this moment and is delivered now.
    if let Err(errno) = forward_to(running.pid()) {
        let _ = running.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = running.wait();
        bail!("forwarding signals to the container: {errno} (sigprocmask/kill failed; please report it)");
    }
    Ok(running)
}
// ANCHOR_END: forward

fn run_one(cli: &Cli, cgroups: Option<&CgroupPlan>, narrator: &Narrator) -> anyhow::Result<i32> {
    let Prepared {
        mut container,
        spec,
    } = prepare(cli, &cli.name, cgroups, narrator)?;
    let running = start(&container, &spec, narrator)?;
    let exit = running.wait().context("waiting for the container")?;
    narrator.step(&format!("command {exit}"));
    container
        .finish_cgroup(&spec.name, exit, narrator)
        .context("removing the container's cgroup")?;

    let state = container.state();
    let changes = diff(&state.upper(), &container.plan().lowers, xattrs(cli))
        .context("reading the upper layer")?;
    print_changes(&changes, narrator);
    if cli.pause {
        pause_after_exit(state);
    }
    finish(cli, container, narrator)?;
    Ok(exit.shell_code())
}

/// `docker diff`: A added, C changed, D deleted — on stderr, like the narration.
fn print_changes(changes: &[ch04_overlay::Change], narrator: &Narrator) {
    if narrator.verbosity() == ch01_chroot::Verbosity::Quiet {
        return;
    }
    if changes.is_empty() {
        narrator.step("the container changed nothing: its upper layer is empty");
        return;
    }
    narrator.step("what the container changed (A added, C changed, D deleted):");
    for change in changes {
        let letter = change.kind.letter().to_string();
        let letter = match change.kind {
            ChangeKind::Added => letter.green(),
            ChangeKind::Changed => letter.yellow(),
            ChangeKind::Deleted => letter.red(),
        };
        narrator.plain(&format!("{letter} {}", change.path.display()));
    }
}

fn pause_after_exit(state: &StateDir) {
    let (upper, path) = (state.upper(), state.path());
    pause(
        "the container has exited; its writable layer is still on the host",
        &[
            HostCommand::new(
                format!("ls -la {}", upper.display()),
                "everything it changed, and nothing else",
            ),
            HostCommand::new(
                format!("find {} -type c -ls", upper.display()),
                "whiteouts: character devices 0/0 that hide deleted lower files",
            ),
            HostCommand::new(
                format!("du -sh {}", upper.display()),
                "what this container costs on disk",
            ),
            HostCommand::new(
                format!("findmnt | grep {}", path.display()),
                "nothing: the overlay died with the container's mount namespace",
            ),
        ],
    );
}

/// Removes the writable layer, or keeps it and says where.
fn finish(cli: &Cli, container: OverlayContainer, narrator: &Narrator) -> anyhow::Result<()> {
    let upper = container.state().upper();
    if cli.keep {
        let path = container.keep();
        // Printed even with --quiet: otherwise the kept layer is lost on the disk.
        write_line(&format!(
            "ch04-overlay: kept {} (writable layer: {})",
            path.display(),
            upper.display()
        ));
        return Ok(());
    }
    let path = container.state().path().to_path_buf();
    container
        .remove()
        .with_context(|| format!("removing {}", path.display()))?;
    narrator.step(&format!("removed {} (upper, work, merged)", path.display()));
    Ok(())
}

/// `--many N`: N containers on the same read-only layers, at the same time.
fn run_many(
    cli: &Cli,
    count: u32,
    cgroups: Option<&CgroupPlan>,
    narrator: &Narrator,
) -> anyhow::Result<i32> {
    let mut running: Vec<Running> = Vec::new();
    for index in 1..=count {
        let name = format!("{}-{index}", cli.name);
        let started = prepare(cli, &name, cgroups, narrator).and_then(|prepared| {
            let Prepared { container, spec } = prepared;
            let running = start(&container, &spec, narrator)?;
            Ok(Running {
                name: name.clone(),
                container,
                running,
            })
        });
        match started {
            Ok(one) => running.push(one),
            Err(err) => {
                // Do not leave the ones already started running unsupervised
                // (their cgroups and layers go when `running` is dropped).
                for Running { running, .. } in running {
                    let _ = running.signal(nix::sys::signal::Signal::SIGKILL);
                    let _ = running.wait();
                }
                return Err(err);
            }
        }
    }
    narrator.observe(&format!(
        "{count} containers running on the same {} read-only layer(s)",
        cli.layers.len()
    ));
    if cli.pause {
        pause_many(&running);
    }

    let mut code = 0;
    let mut finished = Vec::new();
    for Running {
        name,
        mut container,
        running,
    } in running
    {
        let exit = running
            .wait()
            .with_context(|| format!("waiting for {name}"))?;
        narrator.step(&format!("{name}: command {exit}"));
        container
            .finish_cgroup(&name, exit, narrator)
            .with_context(|| format!("removing {name}'s cgroup"))?;
        if code == 0 {
            code = exit.shell_code();
        }
        finished.push((name, container));
    }

    print_disk_usage(cli, &finished)?;
    for (_, container) in finished {
        finish(cli, container, narrator)?;
    }
    Ok(code)
}

/// One of the `--many` containers, while it runs.
struct Running {
    name: String,
    container: OverlayContainer,
    running: Container,
}

fn pause_many(running: &[Running]) {
    let mut commands: Vec<HostCommand> = running
        .iter()
        .take(3)
        .map(|Running { name, running, .. }| {
            HostCommand::new(
                format!("findmnt -N {} /", running.pid()),
                format!("{name}'s root: an overlay with the same lowerdir"),
            )
        })
        .collect();
    if let Some(Running { container, .. }) = running.first() {
        if let Some(parent) = container.state().path().parent() {
            commands.push(HostCommand::new(
                format!("du -sh {}/ch04-overlay-*/upper", parent.display()),
                "one small writable layer per container",
            ));
        }
    }
    pause("all containers are running", &commands);
}

// ANCHOR: disk_usage_report
/// What N containers cost on disk: the shared layers once, plus one upper each.
fn print_disk_usage(cli: &Cli, finished: &[(String, OverlayContainer)]) -> anyhow::Result<()> {
    let mut shared = 0;
    for layer in &cli.layers {
        shared += disk_usage(layer).with_context(|| format!("measuring {}", layer.display()))?;
    }
    let mut uppers = 0;
    let mut lines = Vec::new();
    for (name, container) in finished {
        let state = container.state();
        let upper =
            disk_usage(&state.upper()).with_context(|| format!("measuring {name}'s upper"))?;
        uppers += upper;
        lines.push(format!(
            "  {name:<10} upper {:>8}  {}",
            human(upper),
            state.upper().display()
        ));
    }
    let copies = shared * finished.len() as u64 + uppers;
    // The report of --many, even with --quiet; stderr closed: it is lost, nothing else.
    write_line("disk usage (du):");
    write_line(&format!(
        "  {:<10} lower {:>8}  read-only, shared by all",
        "layers",
        human(shared)
    ));
    for line in lines {
        write_line(&line);
    }
    write_line(&format!(
        "  {} containers: {} on disk ({} shared + {} in upper dirs); a full copy each would be {}",
        finished.len(),
        human(shared + uppers),
        human(shared),
        human(uppers),
        human(copies)
    ));
    Ok(())
}
// ANCHOR_END: disk_usage_report
