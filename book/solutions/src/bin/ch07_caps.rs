//! Chapter 07, exercise 6: decode a capability mask, and compare it with
//! docker's default set.
//!
//! `sol-ch07-caps HEX` takes the value of a `CapEff:` (or `CapPrm:`,
//! `CapBnd:` …) line of /proc/PID/status and prints the capabilities in it,
//! then what differs from docker's 14.

use anyhow::{bail, Context};
use caps::{Capability, CapsHashSet};
use ch07_security::capabilities::{names, DOCKER_DEFAULT};

// ANCHOR: decode
/// The capabilities whose bits are set: bit *n* is capability number *n*.
fn decode(mask: u64) -> CapsHashSet {
    caps::all()
        .into_iter()
        .filter(|cap| mask & cap.bitmask() != 0)
        .collect()
}

fn report(mask: u64) -> String {
    let held = decode(mask);
    let docker: CapsHashSet = DOCKER_DEFAULT.into_iter().collect();
    let missing: CapsHashSet = docker.difference(&held).copied().collect();
    let extra: CapsHashSet = held.difference(&docker).copied().collect();
    let mut out = format!("{} capabilities: {}\n", held.len(), names(&held));
    if missing.is_empty() && extra.is_empty() {
        out.push_str("same as docker's default set\n");
    }
    if !missing.is_empty() {
        out.push_str(&format!("missing: {}\n", names(&missing)));
    }
    if !extra.is_empty() {
        out.push_str(&format!("extra: {}\n", names(&extra)));
    }
    out
}
// ANCHOR_END: decode

fn main() -> anyhow::Result<()> {
    let Some(hex) = std::env::args().nth(1) else {
        bail!("usage: sol-ch07-caps HEX (e.g. the CapEff value from /proc/PID/status)");
    };
    let mask = u64::from_str_radix(hex.trim_start_matches("0x"), 16)
        .with_context(|| format!("{hex:?} is not a hexadecimal capability mask"))?;
    // Bits above the last capability this crate knows are worth a word.
    let known = caps::all()
        .iter()
        .fold(0u64, |m, c: &Capability| m | c.bitmask());
    if mask & !known != 0 {
        eprintln!(
            "sol-ch07-caps: bits {:#x} name no capability known here",
            mask & !known
        );
    }
    print!("{}", report(mask));
    Ok(())
}
