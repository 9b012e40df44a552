//! The book's "Try it" blocks are checked against the real binaries.
//!
//! A block written as ```` ```console,tryit ```` is run: every line starting
//! with `$ ` is a command (a leading `sudo` is dropped when we are root), run
//! from the workspace root with stdout and stderr into one pipe, in the order
//! they were written. Every other line of the block must appear in the real
//! output, with numbers (PIDs, sizes) allowed to differ — but not exit codes,
//! nor a number written right after "exactly " — and `…` marking lines left
//! out. So the book cannot drift from the code.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use minibox_testkit::{require_root, run, Rootfs};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The rootfs path the pages use; each run substitutes a fresh temporary one.
const BOOK_ROOTFS: &str = "/var/tmp/minibox/rootfs";
/// minibox's default --root, as the pages show it; each block gets a fresh
/// temporary one (through MINIBOX_ROOT), so a replay never touches the
/// machine's own images and containers.
const BOOK_ENGINE_ROOT: &str = "/var/lib/minibox";
/// The hostname of the machine the pages were captured on; this host's name is
/// shown as this one, so the pages check out on any machine.
const BOOK_HOSTNAME: &str = "vm";

/// Rewrites this host's name (quoted, or alone on a line) to the book's.
fn as_book_hostname(output: &str) -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    if host.is_empty() || host == BOOK_HOSTNAME {
        return output.to_string();
    }
    output
        .replace(&format!("\"{host}\""), &format!("\"{BOOK_HOSTNAME}\""))
        .lines()
        .map(|l| if l == host { BOOK_HOSTNAME } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A `console,tryit` block: the commands and the lines they must print.
#[derive(Debug)]
struct TryIt {
    page: String,
    commands: Vec<String>,
    expected: Vec<String>,
}

fn try_it_blocks(page: &Path) -> Vec<TryIt> {
    let text = std::fs::read_to_string(page).expect("read page");
    let mut blocks = Vec::new();
    let mut current: Option<TryIt> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```console,tryit") => {
                current = Some(TryIt {
                    page: page.display().to_string(),
                    commands: Vec::new(),
                    expected: Vec::new(),
                })
            }
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some(block) => match line.strip_prefix("$ ") {
                Some(command) => block.commands.push(command.to_string()),
                None if line.contains('…') || line.trim().is_empty() => {}
                None => block.expected.push(line.to_string()),
            },
            None => {}
        }
    }
    blocks
}

/// Numbers vary from run to run (PIDs, sizes, times): compare without them —
/// except exit codes ("exit code 137", "exit: 3", "exited with code 0"),
/// which are the point of many examples and must match exactly, and a number
/// the page claims on purpose ("takes exactly 6143 bytes").
fn normalise(line: &str) -> String {
    const EXACT_AFTER: [&str; 4] = ["exit code ", "exit: ", "exited with code ", "exactly "];
    let mut out = String::new();
    let mut in_number = false;
    let mut exact = false;
    for c in line.trim_end().chars() {
        if c.is_ascii_digit() {
            if !in_number {
                exact = EXACT_AFTER.iter().any(|prefix| out.ends_with(prefix));
                if !exact {
                    out.push('#');
                }
            }
            if exact {
                out.push(c);
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

#[test]
fn try_it_blocks_match_the_real_binaries() {
    if !require_root("try_it_blocks_match_the_real_binaries") {
        return;
    }
    // The pages work in fixed places under /var/tmp/minibox (layers, images,
    // state), as a reader would: two checkouts replaying them at once on one
    // machine would trip over each other, so runs take turns.
    let _turn = take_turns();
    let root = workspace_root();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_minibox"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("book/src"))
        .expect("book/src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let blocks: Vec<TryIt> = pages.iter().flat_map(|p| try_it_blocks(p)).collect();
    assert!(
        !blocks.is_empty(),
        "no ```console,tryit blocks found in book/src"
    );

    let mut failures = Vec::new();
    for block in &blocks {
        let rootfs = Rootfs::busybox();
        let rootfs_path = rootfs.path().display().to_string();
        let engine_root = EngineRoot::new(&bin_dir);
        let engine_root_path = engine_root.dir.path().display().to_string();
        let mut output = String::new();
        for command in &block.commands {
            let command = command
                .strip_prefix("sudo ")
                .unwrap_or(command)
                .replace(BOOK_ROOTFS, &rootfs_path);
            let command = command.replace("target/debug/", &format!("{}/", bin_dir.display()));
            let mut shell = Command::new("/bin/sh");
            shell
                .arg("-c")
                .arg(format!("exec 2>&1; {command}"))
                .current_dir(&root)
                .env("MINIBOX_ROOT", &engine_root_path)
                .env("NO_COLOR", "1");
            // The bridge would touch this machine's network: only a command
            // the page runs in a network namespace of its own gets it.
            if !in_own_network_namespace(&command) {
                shell.env("MINIBOX_NETWORK", "none");
            }
            let out = run(&mut shell);
            output.push_str(
                &String::from_utf8_lossy(&out.stdout)
                    .replace(&rootfs_path, BOOK_ROOTFS)
                    .replace(&engine_root_path, BOOK_ENGINE_ROOT),
            );
        }
        drop(engine_root);
        let output = as_book_hostname(&output);
        let actual: Vec<String> = output.lines().map(normalise).collect();
        for line in &block.expected {
            if !actual.contains(&normalise(line)) {
                failures.push(format!(
                    "{}: `{}` did not print\n    {line}\n  it printed:\n{output}",
                    block.page,
                    block.commands.join(" ; ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the book drifted from the code:\n{}",
        failures.join("\n")
    );
}

/// `nsenter --net=…` or `ip netns exec …`: a namespace the page made (and
/// deletes), where a bridge, veths and firewall rules touch nothing else.
fn in_own_network_namespace(command: &str) -> bool {
    command.starts_with("nsenter --net=") || command.starts_with("ip netns exec ")
}

/// A block's engine root. Dropped, it removes what the block left running
/// (a failed block may leave a container), then the directory.
struct EngineRoot {
    dir: tempfile::TempDir,
    minibox: PathBuf,
}

impl EngineRoot {
    fn new(bin_dir: &Path) -> EngineRoot {
        let dir = tempfile::Builder::new()
            .prefix("mbx-book-")
            .tempdir()
            .expect("tempdir");
        EngineRoot {
            dir,
            minibox: bin_dir.join("minibox"),
        }
    }
}

impl Drop for EngineRoot {
    fn drop(&mut self) {
        let minibox = |args: &[&str]| {
            run(Command::new(&self.minibox)
                .arg("--root")
                .arg(self.dir.path())
                .args(args))
        };
        let ids = minibox(&["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            minibox(&["rm", "-f", id]);
        }
    }
}

/// An exclusive lock on /var/tmp/minibox/.book-try-it.lock, held while the
/// returned file is open (the kernel drops it if the test dies).
fn take_turns() -> std::fs::File {
    std::fs::create_dir_all("/var/tmp/minibox").expect("/var/tmp/minibox");
    let file = std::fs::File::create("/var/tmp/minibox/.book-try-it.lock").expect("lock file");
    // SAFETY: flock on an fd we own; blocks until no other run holds it.
    let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
    file
}

#[test]
fn normalise_ignores_numbers_only() {
    assert_eq!(normalise("PID 18269 is here"), normalise("PID 7 is here"));
    assert_ne!(normalise("exit: 3"), normalise("exit: x"));
    assert_ne!(normalise("exit: 137"), normalise("exit: 139"));
    assert_ne!(normalise("(exit code 137)"), normalise("(exit code 1)"));
    assert_eq!(
        normalise("PID 12 exited with code 0"),
        normalise("PID 9 exited with code 0")
    );
    assert_ne!(
        normalise("exactly 6143 bytes"),
        normalise("exactly 5972 bytes")
    );
    assert_eq!(normalise("about 6143 bytes"), normalise("about 5972 bytes"));
}
