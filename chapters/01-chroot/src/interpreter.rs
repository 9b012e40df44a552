//! Why execve says ENOENT for a file that exists.
//!
//! execve(2) answers ENOENT ("No such file or directory") not only when the
//! program is missing, but also when the program it *needs* is: the dynamic
//! loader named in an ELF file's PT_INTERP header (`/lib64/ld-linux-x86-64.so.2`),
//! or the interpreter on a script's `#!` line (`/bin/bash`). In a fresh root
//! filesystem that is the usual case — a binary copied from the host without
//! its loader and libraries. So after an ENOENT the child, still inside the
//! new root, looks at the file itself and tells which one is missing.

use std::io::Read;
use std::path::{Path, PathBuf};

/// What kind of file needs an interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A dynamically linked ELF program: PT_INTERP names its loader.
    Loader,
    /// A script: its `#!` line names the interpreter.
    Script,
}

/// What execve's ENOENT meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The command itself is nowhere (its path, or every PATH directory).
    /// `shell`: whether the root has a /bin/sh to suggest instead.
    Command { shell: bool },
    /// `program` exists but needs `interpreter`, which does not.
    Interpreter {
        program: PathBuf,
        interpreter: PathBuf,
        needs: Needs,
    },
}

// ANCHOR: elf_interpreter
/// The program interpreter an ELF file asks for (its PT_INTERP header), or
/// `None` for a static program or a file that is no 64-bit little-endian ELF.
pub fn elf_interpreter(bytes: &[u8]) -> Option<PathBuf> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return None;
    }
    let u16_at =
        |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?) as usize);
    let u64_at =
        |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?) as usize);
    let (phoff, phentsize, phnum) = (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let p_type = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        if p_type == PT_INTERP {
            // p_offset at +8, p_filesz at +32: a NUL-terminated path.
            let (offset, size) = (u64_at(at + 8)?, u64_at(at + 32)?);
            // Beyond what was read: still dynamic, the name just unknown.
            let Some(path) = offset
                .checked_add(size)
                .and_then(|end| bytes.get(offset..end))
            else {
                return Some(PathBuf::from("(its loader)"));
            };
            let path = path.split(|&b| b == 0).next().unwrap_or_default();
            return Some(PathBuf::from(String::from_utf8_lossy(path).into_owned()));
        }
    }
    None
}
// ANCHOR_END: elf_interpreter

/// The interpreter on a script's `#!` line.
pub fn script_interpreter(bytes: &[u8]) -> Option<PathBuf> {
    let line = bytes.strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    text.split_whitespace().next().map(PathBuf::from)
}

/// Finds `command` as execvp(3) does: a path if it holds a `/`, else the
/// first PATH directory that has it.
fn locate(command: &str, path_env: &str) -> Option<PathBuf> {
    if command.contains('/') {
        let path = PathBuf::from(command);
        return path.exists().then_some(path);
    }
    path_env
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(command))
        .find(|p| p.is_file())
}

/// After execvp(`command`) failed with ENOENT, in the process that tried
/// (so paths mean what they mean to the command): which file is missing.
pub fn diagnose_enoent(command: &str, path_env: &str) -> Missing {
    let shell = Path::new("/bin/sh").exists();
    let Some(mut program) = locate(command, path_env) else {
        return Missing::Command { shell };
    };
    // A script's interpreter may itself be a dynamic program whose loader is
    // missing: follow the chain a few steps to the file that is not there.
    for _ in 0..4 {
        let mut head = Vec::new();
        let read =
            std::fs::File::open(&program).and_then(|f| f.take(1 << 16).read_to_end(&mut head));
        if read.is_err() {
            break;
        }
        let (interpreter, needs) = match (elf_interpreter(&head), script_interpreter(&head)) {
            (Some(loader), _) => (loader, Needs::Loader),
            (None, Some(interpreter)) => (interpreter, Needs::Script),
            (None, None) => break,
        };
        if !interpreter.exists() {
            return Missing::Interpreter {
                program,
                interpreter,
                needs,
            };
        }
        program = interpreter;
    }
    // It exists and so does everything it names: execve's ENOENT came from
    // elsewhere (a library-less loader?). Say what we know.
    Missing::Command { shell }
}

/// The report pipe carries one string: the diagnosis as fields separated by
/// the ASCII record separator (no path or step name contains it).
const FIELD: char = '\u{1e}';

impl Missing {
    /// For the report pipe.
    pub fn encode(&self) -> String {
        match self {
            Missing::Command { shell } => format!("command{FIELD}{}", u8::from(*shell)),
            Missing::Interpreter {
                program,
                interpreter,
                needs,
            } => format!(
                "interpreter{FIELD}{}{FIELD}{}{FIELD}{}",
                match needs {
                    Needs::Loader => "loader",
                    Needs::Script => "script",
                },
                program.display(),
                interpreter.display()
            ),
        }
    }

    /// Back from the report pipe.
    pub fn decode(text: &str) -> Option<Missing> {
        let fields: Vec<&str> = text.split(FIELD).collect();
        match fields.as_slice() {
            ["command", shell] => Some(Missing::Command {
                shell: *shell == "1",
            }),
            ["interpreter", needs, program, interpreter] => Some(Missing::Interpreter {
                program: PathBuf::from(program),
                interpreter: PathBuf::from(interpreter),
                needs: match *needs {
                    "loader" => Needs::Loader,
                    _ => Needs::Script,
                },
            }),
            _ => None,
        }
    }
}

/// The message for a command that could not start because something is
/// missing inside `rootfs` (how the caller names the root filesystem).
pub fn explain(command: &str, missing: &Missing, rootfs: &str) -> String {
    // `"sh" (/bin/sh)`: the command, and where PATH found it if that differs.
    let named = |program: &Path| {
        if Path::new(command) == program {
            format!("{command:?}")
        } else {
            format!("{command:?} ({})", program.display())
        }
    };
    match missing {
        Missing::Command { shell } => format!(
            "command {command:?} not found inside {rootfs}: paths are looked up inside the new root, not on the host{}",
            if *shell { " (try /bin/sh)" } else { "" }
        ),
        Missing::Interpreter {
            program,
            interpreter,
            needs: Needs::Loader,
        } => format!(
            "{} is dynamically linked, and its program interpreter {} is missing inside {rootfs}: use a statically linked program (like busybox), or copy the interpreter and the libraries `ldd` lists for the program into the root filesystem",
            named(program),
            interpreter.display(),
        ),
        Missing::Interpreter {
            program,
            interpreter,
            needs: Needs::Script,
        } => format!(
            "{} is a script for {}, which is missing inside {rootfs}: install {} in the root filesystem, or change the script's #! line to an interpreter it has",
            named(program),
            interpreter.display(),
            interpreter.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_own_programs_name_their_loader_and_busybox_none() {
        // Any dynamically linked program of the host: the test binary itself.
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let loader = elf_interpreter(&me).expect("a PT_INTERP header");
        assert!(loader.to_string_lossy().contains("ld-"), "{loader:?}");
        assert_eq!(elf_interpreter(b"#!/bin/sh\n"), None);
        assert_eq!(
            script_interpreter(b"#!/usr/bin/env python3\nprint(1)\n"),
            Some(PathBuf::from("/usr/bin/env"))
        );
        assert_eq!(script_interpreter(b"\x7fELF"), None);
    }

    #[test]
    fn a_diagnosis_crosses_the_report_pipe_intact() {
        for missing in [
            Missing::Command { shell: true },
            Missing::Command { shell: false },
            Missing::Interpreter {
                program: "/bin/x".into(),
                interpreter: "/lib64/ld-linux-x86-64.so.2".into(),
                needs: Needs::Loader,
            },
            Missing::Interpreter {
                program: "/usr/local/bin/s".into(),
                interpreter: "/bin/bash".into(),
                needs: Needs::Script,
            },
        ] {
            assert_eq!(Missing::decode(&missing.encode()), Some(missing));
        }
    }
}
