//! The shared test harness.
//!
//! Integration tests hit the real kernel, so most need root and some need
//! tools (busybox-static). [`require_root`] and [`require_tool`] decide
//! whether a test runs: as root it runs; otherwise it skips with a printed
//! reason — except under `CI=true`, where a would-skip is a failure, so CI can
//! never pass by skipping. [`Rootfs`] gives each test its own fresh busybox
//! root filesystem, deleted when the test ends.

pub mod bounded;
pub mod broken_pipe;
pub mod mounts;
pub mod oci;
pub mod propagation;
pub mod registry;
pub mod session;
pub mod supervisor;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// True when running in CI (`CI=true` or `CI=1`), where nothing may skip.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// Decides whether a test that cannot run here skips (locally) or fails (CI).
fn skip_or_fail(test: &str, reason: &str) -> bool {
    if in_ci() {
        panic!("{test}: {reason} — under CI=true a privileged test must not skip");
    }
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// Returns true if the test may go on as root. Use as
/// `if !require_root("my_test") { return; }`.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        skip_or_fail(
            test,
            "needs root (run `cargo test`: the cargo runner uses sudo)",
        )
    }
}

/// Returns true if `tool` is on PATH (or is an existing path).
pub fn require_tool(test: &str, tool: &str) -> bool {
    if which(tool).is_some() {
        true
    } else {
        skip_or_fail(test, &format!("needs `{tool}` (scripts/setup installs it)"))
    }
}

/// Finds `tool` on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        return Some(PathBuf::from(tool)).filter(|p| p.exists());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A fresh busybox root filesystem in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// Builds one from the host's busybox-static (panics with the fix if it is missing:
    /// a test without its fixture cannot say anything).
    pub fn busybox() -> Rootfs {
        let dir = tempfile::Builder::new()
            .prefix("minibox-test-rootfs-")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"));
        let busybox = ch01_chroot::rootfs::find_busybox().unwrap_or_else(|e| panic!("{e}"));
        ch01_chroot::rootfs::create_busybox_rootfs(dir.path(), &busybox)
            .unwrap_or_else(|e| panic!("{e}"));
        Rootfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs a command and returns its output; panics only if it could not be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
}

/// stdout and stderr of an [`Output`] as text, for assertions and messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A name unique to this test process, for cgroups, mounts and files.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every directory called `name` under any cgroup mount (v1 or v2), up to 8
/// levels deep: what a run left behind, if anything.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found = Vec::new();
    for line in mounts.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if !(right.starts_with("cgroup ") || right.starts_with("cgroup2 ")) {
            continue;
        }
        if let Some(mount_point) = left.split_whitespace().nth(4) {
            find_dirs(Path::new(mount_point), name, 8, &mut found);
        }
    }
    found
}

fn find_dirs(dir: &Path, name: &str, depth: u32, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == name {
            found.push(entry.path());
        } else if depth > 0 {
            find_dirs(&entry.path(), name, depth - 1, found);
        }
    }
}

/// A tiny ELF program for this machine that needs the program interpreter
/// (dynamic loader) `interpreter` — which need not exist: execve(2) then
/// fails with ENOENT although the program is there. Enough of an ELF file
/// for the kernel to get that far: a header and one PT_INTERP entry.
pub fn elf_needing(interpreter: &str) -> Vec<u8> {
    #[cfg(target_arch = "x86_64")]
    const MACHINE: u16 = 62; // EM_X86_64
    #[cfg(target_arch = "aarch64")]
    const MACHINE: u16 = 183; // EM_AARCH64
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    const MACHINE: u16 = 0;
    let path = [interpreter.as_bytes(), b"\0"].concat();
    let (header, entry) = (64u64, 56u64);
    let mut elf = Vec::new();
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"); // 64-bit, LE, v1
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&MACHINE.to_le_bytes());
    elf.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    elf.extend_from_slice(&0x40_0000u64.to_le_bytes()); // e_entry
    elf.extend_from_slice(&header.to_le_bytes()); // e_phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        elf.extend_from_slice(&half.to_le_bytes());
    }
    let offset = header + entry;
    elf.extend_from_slice(&3u32.to_le_bytes()); // PT_INTERP
    elf.extend_from_slice(&4u32.to_le_bytes()); // PF_R
    for word in [
        offset,
        0x40_0000 + offset,
        0x40_0000 + offset,
        path.len() as u64,
        path.len() as u64,
        1,
    ] {
        // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        elf.extend_from_slice(&word.to_le_bytes());
    }
    elf.extend_from_slice(&path);
    elf
}

/// A chapter binary run on `rootfs`: `BINARY [FLAGS…] --rootfs ROOTFS -- ARGV…`,
/// without colour (tests read the text). Every chapter's tests start here.
pub fn chapter_command(binary: &str, rootfs: &Path, flags: &[&str], argv: &[&str]) -> Command {
    chapter_args(Command::new(binary), rootfs, flags, argv)
}

/// Like [`chapter_command`], but started in `ns`: a mount namespace with an
/// rshared "/", where a mount that leaks from the container shows up.
pub fn chapter_command_in(
    ns: &propagation::SharedRoot,
    binary: &str,
    rootfs: &Path,
    flags: &[&str],
    argv: &[&str],
) -> Command {
    chapter_args(ns.command(binary), rootfs, flags, argv)
}

fn chapter_args(mut cmd: Command, rootfs: &Path, flags: &[&str], argv: &[&str]) -> Command {
    cmd.env("NO_COLOR", "1")
        .arg("--rootfs")
        .arg(rootfs)
        .args(flags)
        .arg("--")
        .args(argv);
    cmd
}
