//! Where the runtime's words go.
//!
//! An engine parses the runtime's stdout (`state` prints JSON) and hands the
//! container the runtime's stdio, so narration must never reach stdout, and
//! reaches stderr only when a person is watching (a terminal, or `-v`).
//! containerd passes `--log FILE --log-format json` and, when a call fails,
//! reads the last `"level":"error"` line of that file: every line there must
//! be JSON then.

use ch01_chroot::{Narrator, Verbosity};
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The runtime's log: a file (`--log`) or stderr.
#[derive(Debug)]
pub struct RuntimeLog {
    file: Option<File>,
    format: LogFormat,
    verbosity: Verbosity,
}

impl RuntimeLog {
    /// Opens `--log` for appending (created if missing).
    pub fn open(
        path: Option<&Path>,
        format: LogFormat,
        verbosity: Verbosity,
    ) -> std::io::Result<Self> {
        let file = match path {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => None,
        };
        Ok(RuntimeLog {
            file,
            format,
            verbosity,
        })
    }

    /// A log that says nothing (tests, library callers).
    pub fn silent() -> Self {
        RuntimeLog {
            file: None,
            format: LogFormat::Text,
            verbosity: Verbosity::Quiet,
        }
    }

    /// Whether a person sees the steps on stderr.
    fn narrates_on_stderr(&self) -> bool {
        self.file.is_none()
            && (self.verbosity == Verbosity::Verbose
                || (self.verbosity == Verbosity::Normal && std::io::stderr().is_terminal()))
    }

    /// The narrator the chapters' libraries talk through: on stderr when a
    /// person watches, else silent (their lines would land in the
    /// container's stderr, or break a JSON log).
    pub fn narrator(&self) -> Narrator {
        if self.narrates_on_stderr() {
            Narrator::new("ch08", self.verbosity)
        } else {
            Narrator::silent()
        }
    }

    pub fn info(&self, message: &str) {
        self.line("info", message);
    }

    /// A field we accept but cannot act on (a label, an LSM profile).
    pub fn warn(&self, message: &str) {
        self.line("warning", message);
    }

    /// The error a failed call ends with, into the log file (containerd
    /// shows this line); without a file the caller prints it on stderr.
    pub fn error(&self, message: &str) {
        if self.file.is_some() {
            self.line("error", message);
        }
    }

    fn line(&self, level: &str, message: &str) {
        match &self.file {
            Some(file) => {
                let text = match self.format {
                    LogFormat::Json => format!(
                        "{}\n",
                        serde_json::json!({"level": level, "msg": message, "time": crate::time::now_rfc3339()})
                    ),
                    LogFormat::Text => {
                        format!("{} {level}: {message}\n", crate::time::now_rfc3339())
                    }
                };
                // A log we cannot write must not stop the container.
                let _ = (&*file).write_all(text.as_bytes());
            }
            None => {
                let shown = match level {
                    "info" => self.narrates_on_stderr(),
                    _ => self.verbosity != Verbosity::Quiet,
                };
                if shown {
                    // Never a panicking print: stderr may be a closed pipe.
                    let _ = writeln!(std::io::stderr(), "[ch08] {level}: {message}");
                }
            }
        }
    }
}
