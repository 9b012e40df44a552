//! What every demo binary's command line shares: the narration flags and the
//! way it ends (the command's exit code, or our error and 125/126/127).

use crate::narrate::{write_line, Narrator, Verbosity};
use crate::process::exit_code;

/// `--quiet` and `-v`, flattened into each binary's clap arguments (global:
/// with subcommands they go before or after the subcommand).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct NarrationFlags {
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (repeat for even more); RUST_LOG set does the same.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl NarrationFlags {
    pub fn verbosity(&self) -> Verbosity {
        Narrator::verbosity_from_flags(self.quiet, self.verbose)
    }

    /// A narrator whose lines start with `[prefix]`.
    pub fn narrator(&self, prefix: &str) -> Narrator {
        Narrator::new(prefix, self.verbosity())
    }
}

/// Ends a demo binary. `Ok(code)` is the command's own exit code; an error is
/// printed as "TOOL: error: …" with its whole chain of context, and the exit
/// code is what `code_for` says (use an error type's `exit_code`), else 125.
/// Printing never panics: with stderr closed, the exit code still tells.
pub fn exit_with<E>(tool: &str, result: anyhow::Result<i32>, code_for: impl Fn(&E) -> i32) -> !
where
    E: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            write_line(&format!("{tool}: error: {}", error_chain(&err)));
            let code = err
                .downcast_ref::<E>()
                .map_or(exit_code::TOOL_FAILED, code_for);
            std::process::exit(code)
        }
    }
}

/// The error and its causes joined with ": ", like anyhow's `{:#}` — but a
/// cause whose text the message already contains is left out, so that
/// "creating X: File exists (os error 17)" does not go on to repeat
/// ": File exists (os error 17)" (an error that shows its source in its own
/// message *and* returns it as `source()` would otherwise say it twice).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use anyhow::Context;

    #[test]
    fn a_cause_is_said_once() {
        let io = std::io::Error::from_raw_os_error(libc::EEXIST);
        #[derive(Debug, thiserror::Error)]
        #[error("creating cgroup /x: {source}")]
        struct Create {
            #[source]
            source: std::io::Error,
        }
        let err = Err::<(), _>(Create { source: io })
            .context("starting the container")
            .unwrap_err();
        assert_eq!(
            error_chain(&err),
            "starting the container: creating cgroup /x: File exists (os error 17)"
        );
    }
}
