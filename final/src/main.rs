//! `minibox`: a small container engine composed from the chapters.

mod doctor;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "minibox",
    version,
    about = "Containers from scratch: a small engine built chapter by chapter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            ch01_chroot::narrate::write_line(&format!(
                "minibox: error: {}",
                ch01_chroot::cli::error_chain(&err)
            ));
            std::process::exit(125);
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
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
    }
}
