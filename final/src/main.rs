//! `minibox`: a small container engine composed from the chapters.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "minibox",
    version,
    about = "containers from scratch: a small engine built chapter by chapter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a busybox root filesystem from the host's static busybox (offline).
    Rootfs {
        /// Where to create it (must not exist, or be empty).
        dir: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("minibox: error: {err:#}");
        std::process::exit(125);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Rootfs { dir } => {
            let busybox = ch01_chroot::rootfs::find_busybox()?;
            ch01_chroot::rootfs::create_busybox_rootfs(&dir, &busybox)
                .with_context(|| format!("creating a busybox rootfs in {}", dir.display()))?;
            eprintln!(
                "minibox: busybox rootfs ready in {} (from {})",
                dir.display(),
                busybox.display()
            );
            Ok(())
        }
    }
}
