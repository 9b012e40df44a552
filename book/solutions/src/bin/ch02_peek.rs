//! Chapter 02, exercise 2: look at the waiting child from the host.
//!
//! `sol-ch02-peek --rootfs DIR [-- CMD…]` starts a container in a user
//! namespace with a `Hooks::child_created` that prints what the host sees of
//! the child while it waits at the gate: its uid and its uid_map.

use anyhow::{bail, Context};
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, HookError, Hooks, Namespaces};
use nix::unistd::Pid;

// ANCHOR: peek_hook
/// Runs in the parent, on the host, while the child waits at the gate:
/// the id maps are written, the child has not run anything yet.
struct Peek;

impl Hooks for Peek {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        let read = |file: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|e| {
                HookError::new(format!("reading /proc/{pid}/{file}"), None, e.to_string())
            })
        };
        let status = read("status")?;
        let uid = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .unwrap_or("Uid: ?");
        println!(
            "host view of PID {pid}: {}",
            uid.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        println!("uid_map: {}", read("uid_map")?.trim());
        Ok(())
    }
}
// ANCHOR_END: peek_hook

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rootfs, command) = match args.as_slice() {
        [flag, rootfs, rest @ ..] if flag == "--rootfs" => {
            let command = match rest {
                [dashes, command @ ..] if dashes == "--" && !command.is_empty() => command.to_vec(),
                _ => vec!["id".to_string()],
            };
            (rootfs.clone(), command)
        }
        _ => bail!("usage: sol-ch02-peek --rootfs DIR [-- CMD…]"),
    };
    // ANCHOR: peek_spawn
    let mut spec = ContainerSpec::new("peek", &rootfs, command);
    spec.namespaces = Namespaces {
        user: true,
        mount: true,
        pid: true,
        ..Namespaces::none()
    };
    let exit = ch02_namespaces::run(&spec, &mut Peek, &Narrator::silent())
        .with_context(|| format!("running a container on {rootfs}"))?;
    // ANCHOR_END: peek_spawn
    std::process::exit(exit.shell_code());
}
