//! Container ids as docker makes them: 64 hex digits from the kernel's
//! random source, shown as their first 12.

use super::error::{EngineError, Result};
use std::io::Read;

/// How many characters of an id `ps` shows.
pub const SHORT_LEN: usize = 12;

/// A fresh random 64-hex id.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(EngineError::io("reading", "/dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The 12-character form.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(SHORT_LEN)]
}

/// True for a string that could be (a prefix of) an id.
pub fn is_hex_prefix(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}
