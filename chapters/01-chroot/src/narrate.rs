//! Narration: one coloured line per step, on stderr.
//!
//! Every chapter's demo binary tells its story through a [`Narrator`], so the
//! terminal reads like the book. Narration goes to stderr: the container
//! command's stdout stays clean for pipes and scripts.
//!
//! Narration must never be what kills a run. stderr may be a pipe whose
//! reader went away (`… 2>&1 | head -5`): Rust ignores SIGPIPE, so the write
//! fails with EPIPE — and `eprintln!` turns that into a panic, which in a
//! destructor aborts before the cgroup is removed, and in a container's PID 1
//! is an abort the kernel ignores. So every line goes through [`write_line`],
//! which never panics, and after the first failed write narration goes quiet.

use colored::Colorize;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

// ANCHOR: write_line
/// Set after the first failed write to stderr: nobody reads it any more.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes one line to stderr; never panics. Returns false (and stays quiet
/// from then on) once stderr is a closed pipe, a full disk or a closed fd.
pub fn write_line(line: &str) -> bool {
    if STDERR_GONE.load(Ordering::Relaxed) {
        return false;
    }
    let mut err = std::io::stderr().lock();
    // One write of the whole line (stderr is unbuffered): lines from the
    // container's init and from us do not interleave mid-line.
    let written = err.write_all(format!("{line}\n").as_bytes());
    if written.is_err() {
        STDERR_GONE.store(true, Ordering::Relaxed);
    }
    written.is_ok()
}
// ANCHOR_END: write_line

/// How much a demo binary says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `--quiet`: nothing but errors.
    Quiet,
    /// The default: one line per step.
    Normal,
    /// `-v` or `RUST_LOG` set: the details too.
    Verbose,
}

/// Prints the steps of a demo, in colour when stderr is a terminal.
#[derive(Debug, Clone)]
pub struct Narrator {
    verbosity: Verbosity,
    prefix: String,
}

impl Narrator {
    /// A narrator whose lines start with `prefix` (the binary's name).
    ///
    /// Colour is used only on a terminal and never when `NO_COLOR` is set
    /// (<https://no-color.org>).
    pub fn new(prefix: &str, verbosity: Verbosity) -> Self {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        colored::control::set_override(colour);
        Narrator {
            verbosity,
            prefix: prefix.to_string(),
        }
    }

    /// Builds the verbosity from the usual `--quiet` / `-v` flags and `RUST_LOG`.
    pub fn verbosity_from_flags(quiet: bool, verbose: u8) -> Verbosity {
        if quiet {
            Verbosity::Quiet
        } else if verbose > 0 || std::env::var_os("RUST_LOG").is_some() {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }

    /// A narrator that prints nothing (for library callers and tests).
    pub fn silent() -> Self {
        Narrator {
            verbosity: Verbosity::Quiet,
            prefix: String::new(),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A system call and why we make it: `chroot("/tmp/rootfs") — change what "/" means`.
    pub fn syscall(&self, call: &str, why: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_line(&format!(
                "{} {} {} {}",
                self.tag(),
                call.cyan().bold(),
                "—".dimmed(),
                why
            ));
        }
    }

    /// A plain step in the story.
    pub fn step(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_line(&format!("{} {}", self.tag(), text));
        }
    }

    /// Something the learner should notice: what changed, what did not.
    pub fn observe(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_line(&format!(
                "{} {} {}",
                self.tag(),
                "👁".yellow(),
                text.yellow()
            ));
        }
    }

    /// A detail shown only with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            write_line(&format!("{} {}", self.tag(), text.dimmed()));
        }
    }

    /// A warning: printed unless `--quiet`.
    pub fn warn(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_line(&format!(
                "{} {} {}",
                self.tag(),
                "warning:".red().bold(),
                text
            ));
        }
    }

    /// A line without the `[prefix]` tag (a table, a diff), unless `--quiet`.
    pub fn plain(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_line(text);
        }
    }

    fn tag(&self) -> String {
        format!("[{}]", self.prefix).green().bold().to_string()
    }
}
