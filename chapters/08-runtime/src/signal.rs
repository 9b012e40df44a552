//! `kill ID SIG`: signals by name (TERM, SIGTERM) or number (15), as runc takes them.

use crate::error::RuntimeError;
use nix::sys::signal::Signal;
use std::str::FromStr;

/// Parses `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse(text: &str) -> Result<Signal, RuntimeError> {
    let bad = || RuntimeError::BadSignal(text.to_string());
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("9").ok(), Some(Signal::SIGKILL));
        assert_eq!(parse("TERM").ok(), Some(Signal::SIGTERM));
        assert_eq!(parse("sigusr1").ok(), Some(Signal::SIGUSR1));
        assert!(parse("NOPE").is_err());
        assert!(parse("99").is_err());
    }
}
