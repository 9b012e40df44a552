//! `ch02-namespaces`: run a command in new namespaces, on a new root, under a real PID 1.

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::forward::{catch_stop_signals, forward_to};
use ch01_chroot::Exit;
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, HookError, Hooks, NamespaceError, Namespaces};
use clap::Parser;
use nix::unistd::Pid;
use std::path::PathBuf;

mod trainer;

/// Run CMD isolated in the namespaces you choose, on DIR as its root, under a
/// small init as PID 1.
#[derive(Debug, Parser)]
#[command(name = "ch02-namespaces", version)]
struct Cli {
    /// The root filesystem (make one with `minibox rootfs DIR`).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// UTS namespace: its own hostname.
    #[arg(long)]
    uts: bool,
    /// PID namespace: the command's init is PID 1.
    #[arg(long)]
    pid: bool,
    /// Mount namespace: its own mount table (always on: pivot_root needs it).
    #[arg(long)]
    mount: bool,
    /// Network namespace: only `lo`.
    #[arg(long)]
    net: bool,
    /// IPC namespace: its own System V IPC objects and message queues.
    #[arg(long)]
    ipc: bool,
    /// User namespace: container root is an unprivileged host uid.
    #[arg(long)]
    user: bool,
    /// cgroup namespace: /proc/self/cgroup shows "/".
    #[arg(long)]
    cgroup: bool,
    /// Time namespace: the monotonic and boot clocks start at zero.
    #[arg(long)]
    time: bool,
    /// Every namespace.
    #[arg(long)]
    all: bool,
    /// Hostname inside (needs --uts; default: the container's name).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// The container's name (process titles, default hostname).
    #[arg(long, default_value = "ch02")]
    name: String,
    /// Make the root filesystem read-only.
    #[arg(long)]
    read_only: bool,
    /// Before running CMD, try chapter 01's chroot escape (it fails after pivot_root).
    #[arg(long)]
    escape: bool,
    /// Trainer mode: stop when the container is ready and print commands to try from the host.
    #[arg(long)]
    pause: bool,
    #[command(flatten)]
    narration: NarrationFlags,
    /// The command to run and its arguments.
    #[arg(last = true, value_name = "CMD", required = true)]
    command: Vec<String>,
}

impl Cli {
    fn namespaces(&self) -> Namespaces {
        if self.all {
            return Namespaces::all();
        }
        Namespaces {
            uts: self.uts,
            pid: self.pid,
            mount: self.mount,
            net: self.net,
            ipc: self.ipc,
            user: self.user,
            cgroup: self.cgroup,
            time: self.time,
        }
    }
}

/// The demo's hooks: `--pause` while the command waits before its execve,
/// `--escape` (chapter 01's chroot break-out) tried from inside the container.
#[derive(Debug)]
struct DemoHooks<'a> {
    narrator: &'a Narrator,
    /// `--pause`: the spec the trainer text describes.
    trainer: Option<&'a ContainerSpec>,
    escape: bool,
}

impl Hooks for DemoHooks<'_> {
    fn command_ready(&mut self, init: Pid) -> Result<(), HookError> {
        if let Some(spec) = self.trainer {
            trainer::pause_for_trainer(init, spec);
        }
        Ok(())
    }

    fn before_exec(&self) -> Result<(), HookError> {
        if !self.escape {
            return Ok(());
        }
        self.narrator
            .step("trying chapter 01's escape: chroot(subdir), fchdir(fd), chdir(\"..\") × 1024");
        // Silent: chapter 01's own narration would claim success.
        ch01_chroot::escape::break_out_of_chroot(&Narrator::silent()).map_err(|f| {
            HookError::new(
                f.step,
                Some(f.errno),
                "the escape needs a writable \"/\" (drop --user and --read-only)",
            )
        })?;
        self.narrator.observe(
            "the escape ran to the end, but \"..\" stopped at the container's root: pivot_root left no host root to climb to",
        );
        Ok(())
    }
}

fn main() {
    let cli = Cli::parse();
    exit_with::<NamespaceError>("ch02-namespaces", run(cli), NamespaceError::exit_code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch02");
    let mut spec = ContainerSpec::new(&cli.name, &cli.rootfs, cli.command.clone());
    spec.namespaces = cli.namespaces();
    spec.hostname = cli.hostname.clone();
    spec.readonly_rootfs = cli.read_only;
    // Trainer mode: the library holds the command before its execve and
    // calls our `command_ready`, which prints what to look at and waits.
    spec.hold_before_exec = cli.pause;
    if spec.namespaces.uts {
        spec.env.retain(|(k, _)| k != "HOSTNAME");
        spec.env
            .push(("HOSTNAME".into(), spec.effective_hostname().to_string()));
    }

    // Ctrl-C, `kill`, a closed terminal: passed on to the container, and we
    // stay to report how it ended and tidy up (as chapters 03 and 04 do).
    catch_stop_signals().context("installing signal handlers")?;
    let mut hooks = DemoHooks {
        narrator: &narrator,
        trainer: cli.pause.then_some(&spec),
        escape: cli.escape,
    };
    let result = run_forwarding(&spec, &mut hooks, &narrator);
    if cli.escape {
        // The escape left its directory in the rootfs; tidy up.
        let _ = std::fs::remove_dir(cli.rootfs.join(ch01_chroot::escape::ESCAPE_DIR));
    }
    // The mount namespace is always made (pivot_root needs it), asked for or not.
    let made = Namespaces {
        mount: true,
        ..spec.namespaces
    };
    let exit = result.with_context(|| {
        format!(
            "running {:?} in {} with namespaces [{}]",
            spec.argv,
            spec.rootfs.display(),
            made.names().join(", ")
        )
    })?;
    Ok(exit.shell_code())
}

/// The library's `run`, with stop signals passed on to the container once it
/// can take them (after `spawn` returned: init blocks them before it forks
/// the command).
fn run_forwarding(
    spec: &ContainerSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Exit, NamespaceError> {
    let container = ch02_namespaces::spawn(spec, hooks, narrator)?;
    if let Err(errno) = forward_to(container.pid()) {
        let _ = container.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = container.wait();
        return Err(NamespaceError::Sys {
            call: "sigprocmask",
            errno,
        });
    }
    let exit = container.wait()?;
    narrator.step(&format!("command {exit}"));
    Ok(exit)
}
