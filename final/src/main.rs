//! `minibox`: a small container engine composed from the chapters — the
//! docker command line over the engine library (`minibox::Engine`).

mod cli;
mod doctor;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cli::commands;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "minibox",
    version,
    about = "Containers from scratch: a small engine built chapter by chapter"
)]
pub struct Cli {
    /// Where images, containers and their state live.
    #[arg(long, global = true, value_name = "DIR", default_value = minibox::engine::DEFAULT_ROOT, env = "MINIBOX_ROOT")]
    pub root: PathBuf,
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Trainer mode: narrate every layer with real PIDs and paths
    /// (long form only: `-v` is docker's --volume).
    #[arg(long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// `run` and `create`'s flags, as docker spells them.
#[derive(Debug, Clone, clap::Args)]
pub struct ContainerFlags {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to pass ours).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Bind mount a volume: HOST:CONTAINER[:ro|rw] (a missing host directory is created).
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Mount a tmpfs: PATH[:OPTIONS].
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Username or UID[:GID] (looked up in the image's /etc/passwd).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// An extra supplementary group: GID, or a name from the image's /etc/group.
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// A resource limit: NAME=SOFT[:HARD] (e.g. nofile=1024:2048).
    #[arg(long, value_name = "LIMIT")]
    pub ulimit: Vec<String>,
    /// The container's hostname (default: its short id).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Overwrite the image's ENTRYPOINT ("" clears it).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Memory limit (e.g. 64m).
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 0.5).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Limit the number of processes.
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<u64>,
    /// Mount the container's root filesystem read-only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// seccomp=PROFILE|unconfined, no-new-privileges.
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// All capabilities, no seccomp, no masked paths, every device.
    #[arg(long)]
    pub privileged: bool,
    /// bridge (the default: an address on minibox0, as docker0), none
    /// (loopback only) or host. MINIBOX_NETWORK sets the default, as dockerd's --bridge.
    #[arg(long, env = "MINIBOX_NETWORK")]
    pub network: Option<String>,
    /// Publish a container's port: [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp].
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// A DNS server for the container's /etc/resolv.conf.
    #[arg(long)]
    pub dns: Vec<String>,
    /// An /etc/hosts line: NAME:IP.
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Run an init (chapter 02's reaping PID 1) that runs the command as its child.
    #[arg(long)]
    pub init: bool,
    /// minibox (chapter 08, the default), runc, crun, or a path.
    #[arg(long)]
    pub runtime: Option<String>,
    /// Keep stdin open.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this machine: root, kernel, cgroup layout, namespaces, overlayfs, busybox.
    Doctor {
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
        /// Also remove what killed runs left behind (cgroups, writable layers)
        /// that no running container uses.
        #[arg(long)]
        clean: bool,
    },
    /// Create a busybox root filesystem from the host's static busybox (offline).
    Rootfs {
        /// Where to create it (must not exist, or be empty).
        dir: PathBuf,
    },
    /// Pull an image from a registry.
    Pull { image: String },
    /// Push an image to a registry.
    Push {
        image: String,
        destination: Option<String>,
    },
    /// List images.
    Images,
    /// Remove an image.
    Rmi {
        #[arg(short, long)]
        force: bool,
        images: Vec<String>,
    },
    /// Import a root filesystem (directory or tarball), an OCI layout or archive, or a docker-archive.
    Import { path: PathBuf, name: String },
    /// Load an image archive (docker-archive or OCI archive).
    Load {
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Save an image to an OCI archive.
    Save {
        #[arg(short, long)]
        output: PathBuf,
        image: String,
    },
    /// Give an image another name.
    Tag { source: String, target: String },
    /// Run a command in a new container.
    Run {
        /// Remove the container when it exits.
        #[arg(long)]
        rm: bool,
        /// Run in the background and print the container's id.
        #[arg(short, long)]
        detach: bool,
        /// Trainer mode: stop at bundle written, created, running.
        #[arg(long)]
        pause: bool,
        #[command(flatten)]
        flags: ContainerFlags,
    },
    /// Create a container (not started).
    Create {
        #[arg(long)]
        rm: bool,
        #[command(flatten)]
        flags: ContainerFlags,
    },
    /// Start a created or stopped container.
    Start {
        /// Attach its output (and wait for it).
        #[arg(short, long)]
        attach: bool,
        /// Attach stdin.
        #[arg(short, long)]
        interactive: bool,
        containers: Vec<String>,
    },
    /// List containers.
    Ps {
        /// All containers (default: running only).
        #[arg(short, long)]
        all: bool,
        /// Only ids.
        #[arg(short, long)]
        quiet: bool,
        /// Full ids and commands.
        #[arg(long)]
        no_trunc: bool,
    },
    /// Print a container's log.
    Logs {
        #[arg(short, long)]
        follow: bool,
        #[arg(long, value_name = "N")]
        tail: Option<String>,
        #[arg(short, long)]
        timestamps: bool,
        container: String,
    },
    /// Run a command in a running container.
    Exec {
        #[arg(short, long)]
        interactive: bool,
        #[arg(short, long)]
        tty: bool,
        #[arg(short, long)]
        env: Vec<String>,
        #[arg(short, long)]
        user: Option<String>,
        #[arg(short, long)]
        workdir: Option<String>,
        container: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Stop containers: SIGTERM, then SIGKILL after the timeout.
    Stop {
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        containers: Vec<String>,
    },
    /// Send a signal (default KILL).
    Kill {
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        containers: Vec<String>,
    },
    /// Remove containers.
    Rm {
        #[arg(short, long)]
        force: bool,
        containers: Vec<String>,
    },
    /// The processes of a container.
    Top { container: String },
    /// Live resource usage.
    Stats {
        #[arg(long)]
        no_stream: bool,
        containers: Vec<String>,
    },
    /// What a container changed in its filesystem.
    Diff { container: String },
    /// A container's changes as a new image.
    Commit { container: String, image: String },
    /// A container's published ports: `80/tcp -> 0.0.0.0:8080`.
    Port {
        container: String,
        /// Only this port: PORT[/tcp|udp].
        private_port: Option<String>,
    },
    /// Docker-shaped JSON of containers or images.
    Inspect { names: Vec<String> },
    /// (internal) The per-container shim.
    #[command(hide = true)]
    Shim {
        id: String,
        #[arg(long)]
        wait_start: bool,
        #[arg(long)]
        client_pid: Option<i32>,
        #[arg(long)]
        ready_fd: Option<i32>,
    },
}

fn main() {
    let cli = Cli::parse();
    // CVE-2019-5736: the shim makes the container's init (a clone of itself,
    // chapter 08 in process) and `exec` the processes joined to it; until
    // they exec, their /proc/PID/exe is this binary. Before either, re-exec
    // from an unwritable view of it (chapter 07), as ch08-runtime does.
    if matches!(cli.command, Command::Shim { .. } | Command::Exec { .. }) {
        if let Err(err) = ch07_security::ensure_sealed_exe() {
            ch01_chroot::narrate::write_line(&format!("minibox: error: {err}"));
            std::process::exit(125);
        }
    }
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            ch01_chroot::narrate::write_line(&format!(
                "minibox: error: {}",
                ch01_chroot::cli::error_chain(&err)
            ));
            err.downcast_ref::<minibox::EngineError>()
                .map_or(125, minibox::EngineError::exit_code)
        }
    };
    std::process::exit(code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let verbosity = ch01_chroot::Narrator::verbosity_from_flags(cli.quiet, cli.verbose);
    let narrator = if cli.verbose > 0 {
        ch01_chroot::Narrator::new("minibox", verbosity)
    } else {
        ch01_chroot::Narrator::silent()
    };
    let mut engine = minibox::Engine::new(&cli.root, narrator);
    engine.chatty = !cli.quiet;
    match cli.command {
        Command::Doctor { json, clean } => {
            let checks = doctor::run_checks(clean);
            if json {
                let text = serde_json::to_string_pretty(&checks).context("encoding the report")?;
                // A closed stdout costs the report, not a panic: the exit code still tells.
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            } else {
                colored::control::set_override(
                    std::io::IsTerminal::is_terminal(&std::io::stdout())
                        && std::env::var_os("NO_COLOR").is_none(),
                );
                doctor::print_report(&checks);
            }
            let failed = checks.iter().any(|c| c.status == doctor::Status::Fail);
            Ok(if failed { 1 } else { 0 })
        }
        Command::Rootfs { dir } => {
            let busybox = ch01_chroot::rootfs::find_busybox()?;
            ch01_chroot::rootfs::create_busybox_rootfs(&dir, &busybox)
                .with_context(|| format!("creating a busybox rootfs in {}", dir.display()))?;
            ch01_chroot::narrate::write_line(&format!(
                "minibox: busybox rootfs ready in {} (from {})",
                dir.display(),
                busybox.display()
            ));
            Ok(0)
        }
        Command::Shim {
            id,
            wait_start,
            client_pid,
            ready_fd,
        } => Ok(minibox::engine::shim::server::main(
            minibox::engine::shim::server::ShimOptions {
                root: cli.root.clone(),
                id,
                wait_start,
                client_pid,
                ready_fd,
            },
        )),
        other => commands::dispatch(&engine, other, verbosity),
    }
}
