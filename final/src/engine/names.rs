//! Container names: docker's rule for what a name may be, and a generated
//! `adjective_scientist` name when none is given.

use super::error::{EngineError, Result};

/// docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.len() < 2 || name.len() > 128 || !first_ok || !rest_ok {
        return Err(EngineError::Invalid(format!(
            "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters"
        )));
    }
    Ok(())
}

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fervent", "gifted", "happy", "jolly", "keen", "lucid", "modest",
    "nifty", "quirky", "serene", "tender", "upbeat", "vibrant",
];
const SCIENTISTS: [&str; 16] = [
    "babbage", "curie", "dijkstra", "euler", "franklin", "galileo", "hopper", "kepler", "lovelace",
    "meitner", "noether", "pascal", "ritchie", "shannon", "thompson", "turing",
];

/// A name from the id's bytes (deterministic per id; the caller retries on a clash).
pub fn generate(id: &str, attempt: usize) -> String {
    let byte = |i: usize| usize::from_str_radix(&id[i * 2..i * 2 + 2], 16).unwrap_or(0);
    let name = format!(
        "{}_{}",
        ADJECTIVES[byte(0) % ADJECTIVES.len()],
        SCIENTISTS[byte(1) % SCIENTISTS.len()]
    );
    if attempt == 0 {
        name
    } else {
        format!("{name}{attempt}")
    }
}
