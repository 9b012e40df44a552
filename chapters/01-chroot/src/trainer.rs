//! Trainer mode (`--pause`): stop at a key moment, print the host-side
//! commands to run in a second terminal with the real PIDs filled in, and wait
//! for Enter.

use colored::Colorize;
use std::io::{BufRead, BufReader, Write};

/// One command to try from the host, and what it shows.
#[derive(Debug, Clone)]
pub struct HostCommand {
    pub command: String,
    pub shows: String,
}

impl HostCommand {
    pub fn new(command: impl Into<String>, shows: impl Into<String>) -> Self {
        HostCommand {
            command: command.into(),
            shows: shows.into(),
        }
    }
}

/// Prints `title` and the commands, then blocks until Enter.
///
/// Reads Enter from the controlling terminal (`/dev/tty`) so that the
/// container command keeps its stdin; falls back to stdin without a terminal.
pub fn pause(title: &str, commands: &[HostCommand]) {
    let mut err = std::io::stderr().lock();
    // Writes to stderr can only fail if stderr is closed; then there is no one to tell.
    let _ = writeln!(err, "\n{} {}", "⏸".magenta().bold(), title.magenta().bold());
    let _ = writeln!(err, "{}", "  In a second terminal, try:".magenta());
    for c in commands {
        let _ = writeln!(err, "    {}", c.command.bold());
        let _ = writeln!(err, "        {}", c.shows.dimmed());
    }
    let _ = write!(err, "{}", "  Press Enter to continue… ".magenta());
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    match std::fs::File::open("/dev/tty") {
        Ok(tty) => {
            let _ = BufReader::new(tty).read_line(&mut line);
        }
        Err(_) => {
            let _ = std::io::stdin().lock().read_line(&mut line);
        }
    }
}
