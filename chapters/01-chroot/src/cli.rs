//! What every demo binary's command line shares: the narration flags and the
//! way it ends (the command's exit code, or our error and 125/126/127).

use crate::narrate::{Narrator, Verbosity};
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
pub fn exit_with<E>(tool: &str, result: anyhow::Result<i32>, code_for: impl Fn(&E) -> i32) -> !
where
    E: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("{tool}: error: {err:#}");
            let code = err
                .downcast_ref::<E>()
                .map_or(exit_code::TOOL_FAILED, code_for);
            std::process::exit(code)
        }
    }
}
