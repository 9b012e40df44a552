//! `ch01-chroot`: run a command inside a directory with chroot(2) — and break out.

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::ChrootSpec;
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
    #[command(flatten)]
    narration: NarrationFlags,
    /// The command to run and its arguments (default with --escape: `ls /`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    exit_with::<ch01_chroot::ChrootError>(
        "ch01-chroot",
        run(cli),
        ch01_chroot::ChrootError::exit_code,
    )
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch01");
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
