//! `ch08-runtime`: the OCI runtime command line, spoken as runc speaks it,
//! so that podman (`--runtime`) and containerd (`--runc-binary`) can drive it.

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch08_runtime::exec::{ExecOptions, ExecOutcome};
use ch08_runtime::{CreateOptions, LogFormat, Runtime, RuntimeError, RuntimeLog};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// An OCI runtime: runs a bundle (config.json + rootfs) the way runc does.
#[derive(Debug, Parser)]
#[command(name = "ch08-runtime", version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.0.2"))]
struct Cli {
    /// Where container state lives.
    #[arg(long, global = true, value_name = "DIR", default_value = ch08_runtime::state::DEFAULT_ROOT)]
    root: PathBuf,
    /// Write narration, warnings and errors here instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Accepted for runc compatibility (more detail: -v).
    #[arg(long, global = true, hide = true)]
    debug: bool,
    /// systemd's cgroup driver is not supported: cgroupfs paths only.
    #[arg(long, global = true, hide = true)]
    systemd_cgroup: bool,
    #[command(flatten)]
    narration: NarrationFlags,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct BundleArgs {
    /// The bundle: a directory with config.json.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    bundle: PathBuf,
    /// Write the container's PID here.
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// A unix socket to send the terminal's master to (process.terminal).
    #[arg(long, value_name = "SOCKET")]
    console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility; the kernel keyring is not touched.
    #[arg(long, hide = true)]
    no_new_keyring: bool,
    /// pivot_root is always used: refused.
    #[arg(long, hide = true)]
    no_pivot: bool,
    /// Extra file descriptors to pass: only 0 is supported.
    #[arg(long, hide = true, default_value_t = 0)]
    preserve_fds: u32,
    /// The container's id.
    id: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a default config.json into the bundle directory.
    Spec {
        #[arg(short, long, value_name = "DIR", default_value = ".")]
        bundle: PathBuf,
        /// process.terminal false: the caller's stdio passes through.
        #[arg(long)]
        no_terminal: bool,
        /// process.args (default: sh).
        #[arg(last = true, value_name = "CMD")]
        args: Vec<String>,
    },
    /// Create the container; its program waits until `start`.
    Create(BundleArgs),
    /// create + start; wait for the container and delete it (unless --detach).
    Run {
        #[command(flatten)]
        bundle: BundleArgs,
        #[arg(short, long)]
        detach: bool,
    },
    /// Let a created container's program run.
    Start { id: String },
    /// Print the container's state as the OCI spec's JSON.
    State { id: String },
    /// Send a signal (name or number; default TERM).
    Kill {
        /// Signal every process in the container's cgroup.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Remove a stopped container (--force: kill it first).
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List the containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run another process in a running container.
    Exec {
        /// A pseudo-terminal for the process.
        #[arg(short, long)]
        tty: bool,
        /// The process as config.json's `process` object (args, env, user…).
        #[arg(short, long, value_name = "FILE")]
        process: Option<PathBuf>,
        #[arg(short, long)]
        detach: bool,
        #[arg(long, value_name = "FILE")]
        pid_file: Option<PathBuf>,
        #[arg(long, value_name = "SOCKET")]
        console_socket: Option<PathBuf>,
        /// Working directory inside the container.
        #[arg(long)]
        cwd: Option<PathBuf>,
        /// Extra environment, KEY=VALUE.
        #[arg(short, long)]
        env: Vec<String>,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// The container's processes (host PIDs).
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
    },
    /// Freeze every process of the container (cgroup freezer).
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// What this runtime supports, as JSON.
    Features,
}

fn main() {
    let cli = Cli::parse();
    // CVE-2019-5736: a container's first process is a clone of us, and
    // /proc/PID/exe would be this binary on the host's disk. Before making
    // one, re-exec from an unwritable view of it (chapter 07), as runc does.
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run { .. } | Command::Exec { .. }
    ) {
        if let Err(err) = ch07_security::ensure_sealed_exe() {
            let _ = writeln!(std::io::stderr(), "ch08-runtime: error: {err}");
            std::process::exit(ch01_chroot::process::exit_code::TOOL_FAILED);
        }
    }
    let verbosity = cli.narration.verbosity();
    let log = match RuntimeLog::open(cli.log.as_deref(), cli.log_format, verbosity) {
        Ok(log) => log,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "ch08-runtime: error: opening the log {:?}: {err}",
                cli.log
            );
            std::process::exit(ch01_chroot::process::exit_code::TOOL_FAILED);
        }
    };
    let runtime = Runtime::new(cli.root.clone(), log);
    let result = run(&cli, &runtime);
    if let Err(err) = &result {
        // containerd reads the reason from the log file's last error line.
        runtime.log.error(&format!("{err:#}"));
    }
    exit_with::<RuntimeError>("ch08-runtime", result, RuntimeError::exit_code)
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").context("writing to stdout")
}

fn run(cli: &Cli, runtime: &Runtime) -> anyhow::Result<i32> {
    if cli.systemd_cgroup {
        anyhow::bail!("--systemd-cgroup is not supported: this runtime manages cgroupfs paths (configure the cgroupfs cgroup manager)");
    }
    match &cli.command {
        Command::Spec {
            bundle,
            no_terminal,
            args,
        } => {
            let path = bundle.join("config.json");
            if path.exists() {
                anyhow::bail!(
                    "{} exists already: remove it first (spec never overwrites)",
                    path.display()
                );
            }
            let mut config = ch08_runtime::template::default_config();
            if *no_terminal {
                config["process"]["terminal"] = serde_json::Value::Bool(false);
            }
            if !args.is_empty() {
                config["process"]["args"] = serde_json::json!(args);
            }
            let text = serde_json::to_string_pretty(&config)?;
            std::fs::write(&path, text + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(0)
        }
        Command::Create(args) => {
            check_bundle_args(args)?;
            runtime.create(&args.id, &args.bundle, &create_options(args))?;
            Ok(0)
        }
        Command::Run {
            bundle: args,
            detach,
        } => {
            check_bundle_args(args)?;
            if *detach {
                runtime.create(&args.id, &args.bundle, &create_options(args))?;
                runtime.start(&args.id)?;
                return Ok(0);
            }
            let exit = runtime.run(&args.id, &args.bundle, &create_options(args))?;
            Ok(exit.shell_code())
        }
        Command::Start { id } => {
            runtime.start(id)?;
            Ok(0)
        }
        Command::State { id } => {
            print(&serde_json::to_string_pretty(&runtime.state(id)?)?)?;
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            runtime.kill(id, ch08_runtime::signal::parse(signal)?, *all)?;
            Ok(0)
        }
        Command::Delete { force, id } => {
            runtime.delete(id, *force)?;
            Ok(0)
        }
        Command::List { format, quiet } => {
            let all = runtime.list();
            if format == "json" {
                print(&serde_json::to_string(&all)?)?;
            } else if *quiet {
                for c in &all {
                    print(&c.id)?;
                }
            } else {
                print(&format!(
                    "{:<20} {:<8} {:<10} {:<40} {}",
                    "ID", "PID", "STATUS", "BUNDLE", "CREATED"
                ))?;
                for c in &all {
                    print(&format!(
                        "{:<20} {:<8} {:<10} {:<40} {}",
                        c.id,
                        c.pid,
                        c.status,
                        c.bundle.display(),
                        c.created
                    ))?;
                }
            }
            Ok(0)
        }
        Command::Exec {
            tty,
            process,
            detach,
            pid_file,
            console_socket,
            cwd,
            env,
            id,
            command,
        } => {
            let mut spec: oci_spec::runtime::Process = match process {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str(&text).with_context(|| {
                        format!("{} is not a config.json `process` object", path.display())
                    })?
                }
                None => {
                    if command.is_empty() {
                        anyhow::bail!("say what to run: `exec ID CMD…`, or --process FILE");
                    }
                    runtime.default_exec_process(id, command.clone(), *tty)?
                }
            };
            if let Some(cwd) = cwd {
                spec.set_cwd(cwd.clone());
            }
            if *tty {
                spec.set_terminal(Some(true));
            }
            if !env.is_empty() {
                let mut all = spec.env().clone().unwrap_or_default();
                all.extend(env.iter().cloned());
                spec.set_env(Some(all));
            }
            let options = ExecOptions {
                detach: *detach,
                pid_file: pid_file.clone(),
                console_socket: console_socket.clone(),
            };
            match runtime.exec(id, spec, &options)? {
                ExecOutcome::Exited(exit) => Ok(exit.shell_code()),
                ExecOutcome::Detached(_) => Ok(0),
            }
        }
        Command::Ps { format, id } => {
            let pids = runtime.pids(id)?;
            if format == "json" {
                print(&serde_json::to_string(
                    &pids.iter().map(|p| p.as_raw()).collect::<Vec<_>>(),
                )?)?;
            } else {
                print(&format!("{:>8} CMD", "PID"))?;
                for pid in pids {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    print(&format!("{:>8} {}", pid, cmd.trim_end()))?;
                }
            }
            Ok(0)
        }
        Command::Pause { id } => {
            runtime.freeze(id, true)?;
            Ok(0)
        }
        Command::Resume { id } => {
            runtime.freeze(id, false)?;
            Ok(0)
        }
        Command::Features => {
            print(&serde_json::to_string_pretty(
                &ch08_runtime::template::features(),
            )?)?;
            Ok(0)
        }
    }
}

fn check_bundle_args(args: &BundleArgs) -> anyhow::Result<()> {
    if args.no_pivot {
        anyhow::bail!("--no-pivot is not supported: this runtime always uses pivot_root (chroot can be escaped, see chapter 01)");
    }
    if args.preserve_fds != 0 {
        anyhow::bail!(
            "--preserve-fds is not supported: the container gets stdin, stdout and stderr only"
        );
    }
    Ok(())
}

fn create_options(args: &BundleArgs) -> CreateOptions {
    CreateOptions {
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
    }
}
