//! A reader that goes away: what `… 2>&1 | head -5` does to a program.
//!
//! [`close_after_lines`] starts a command with stdout or stderr on a pipe,
//! reads N lines of it, then closes its end. From then on the command's
//! writes to that stream fail with EPIPE (Rust programs ignore SIGPIPE, so
//! they see the error instead of dying of the signal). The other stream is
//! collected, so a panic message on it can be asserted on.

use crate::bounded::wait_within;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Which of the command's streams the reader closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a run with a closed pipe ended.
#[derive(Debug)]
pub struct ClosedPipeRun {
    /// The command's PID (names like `ch04-<PID>` contain it).
    pub pid: u32,
    pub status: ExitStatus,
    /// The lines read before closing.
    pub lines: Vec<String>,
    /// Everything written to the other stream.
    pub other: String,
}

/// Runs `cmd`, reads `lines` lines of `stream`, closes it, and waits (at
/// most `limit`) for the command to end.
pub fn close_after_lines(
    cmd: &mut Command,
    stream: Stream,
    lines: usize,
    limit: Duration,
) -> ClosedPipeRun {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        panic!("{what}: stdout and stderr were not piped");
    };
    let (closed, other): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match stream {
        Stream::Stdout => (Box::new(stdout), Box::new(stderr)),
        Stream::Stderr => (Box::new(stderr), Box::new(stdout)),
    };
    let other = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut other = other;
        let _ = other.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let mut read = Vec::new();
    let mut reader = BufReader::new(closed);
    while read.len() < lines {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => read.push(line.trim_end_matches('\n').to_string()),
        }
    }
    // The reader goes away: every later write to this stream is EPIPE.
    drop(reader);
    let status = wait_within(&mut child, limit, &what);
    ClosedPipeRun {
        pid: child.id(),
        status,
        lines: read,
        other: other.join().unwrap_or_default(),
    }
}

/// The closed-stderr check every chapter makes: a reader that goes away
/// must end the narration, never the run. Runs `cmd` with its stderr closed
/// after `lines` lines and asserts it still ended with `code`, the command's
/// own exit status (a narration that panics on EPIPE exits 101, one that
/// aborts 134). `what` names the run in the failure message. Returns the run
/// for the chapter's own checks: stdout intact, nothing left behind.
pub fn closed_stderr_keeps_exit_code(
    cmd: &mut Command,
    lines: usize,
    code: i32,
    what: &str,
) -> ClosedPipeRun {
    let run = close_after_lines(cmd, Stream::Stderr, lines, crate::bounded::DEADLINE);
    assert_eq!(
        run.status.code(),
        Some(code),
        "{what}, stderr closed after {lines} line(s): {:?} (101: a panic, 134: an abort); read {:?}",
        run.status,
        run.lines
    );
    run
}

/// The closed-stdout check every chapter makes: `cmd` runs `yes` in the
/// container, the reader takes three lines and goes away, and `yes` must die
/// of SIGPIPE (exit 141) as it would in a shell pipeline — not see EPIPE
/// (exit 1, "Broken pipe") because it inherited SIGPIPE ignored, and not
/// run on. Returns the run for the chapter's own checks.
pub fn yes_dies_of_sigpipe(cmd: &mut Command) -> ClosedPipeRun {
    let run = close_after_lines(cmd, Stream::Stdout, 3, crate::bounded::DEADLINE);
    assert_eq!(run.lines, ["y", "y", "y"]);
    assert_eq!(
        run.status.code(),
        Some(128 + 13),
        "{:?}: {}",
        run.status,
        run.other
    );
    run
}
