//! Narration: one coloured line per step, on stderr.
//!
//! Every chapter's demo binary tells its story through a [`Narrator`], so the
//! terminal reads like the book. Narration goes to stderr: the container
//! command's stdout stays clean for pipes and scripts.

use colored::Colorize;
use std::io::IsTerminal;

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
            eprintln!(
                "{} {} {} {}",
                self.tag(),
                call.cyan().bold(),
                "—".dimmed(),
                why
            );
        }
    }

    /// A plain step in the story.
    pub fn step(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{} {}", self.tag(), text);
        }
    }

    /// Something the learner should notice: what changed, what did not.
    pub fn observe(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{} {} {}", self.tag(), "👁".yellow(), text.yellow());
        }
    }

    /// A detail shown only with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{} {}", self.tag(), text.dimmed());
        }
    }

    /// A warning: printed unless `--quiet`.
    pub fn warn(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{} {} {}", self.tag(), "warning:".red().bold(), text);
        }
    }

    fn tag(&self) -> String {
        format!("[{}]", self.prefix).green().bold().to_string()
    }
}
