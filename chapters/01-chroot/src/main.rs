//! `ch01-chroot`: run a command inside a directory with chroot(2) — and break out.

use anyhow::Context;
use ch01_chroot::{ChrootSpec, Narrator};
use clap::Parser;
use std::path::PathBuf;

/// Run CMD with DIR as its "/" (chroot, 1979) — and see why that is not a jail.
#[derive(Debug, Parser)]
#[command(name = "ch01-chroot", version)]
struct Cli {
    /// The root filesystem (make one with `minibox rootfs DIR`).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// Break out of the chroot (the classic escape by a root process), then run CMD on the host's "/".
    #[arg(long)]
    escape: bool,
    /// Trainer mode: stop inside the chroot and print commands to try from the host.
    #[arg(long)]
    pause: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// More detail.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The command to run and its arguments (default with --escape: `ls /`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("ch01-chroot: error: {err:#}");
            let code = err.downcast_ref::<ch01_chroot::ChrootError>().map_or(
                ch01_chroot::process::exit_code::TOOL_FAILED,
                ch01_chroot::ChrootError::exit_code,
            );
            std::process::exit(code);
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = Narrator::new(
        "ch01",
        Narrator::verbosity_from_flags(cli.quiet, cli.verbose),
    );
    let mut argv = cli.command;
    if argv.is_empty() && cli.escape {
        argv = vec!["ls".into(), "/".into()];
    }
    let spec = ChrootSpec {
        rootfs: cli.rootfs,
        argv,
        escape: cli.escape,
        pause: cli.pause,
    };
    let exit = ch01_chroot::run(&spec, &narrator)
        .with_context(|| format!("running {:?} in {}", spec.argv, spec.rootfs.display()))?;
    Ok(exit.shell_code())
}
