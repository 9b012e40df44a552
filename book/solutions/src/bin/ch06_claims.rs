//! Chapter 06, exercise 4: what a registry token says about itself.
//!
//! `sol-ch06-claims TOKEN` prints the claims of a JSON Web Token (the middle
//! of its three dot-separated parts) — `access`, `aud`, `exp` — without
//! checking its signature: the registry does that, not the client.

use anyhow::{bail, Context};

// ANCHOR: claims
/// base64url (RFC 4648 §5: `-` and `_` instead of `+` and `/`), padding optional.
fn base64url_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let mut bits: u32 = 0;
    let (mut count, mut out) = (0, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => bail!("{:?} is not base64url", c as char),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8); // the top 8 of the bits we hold
            bits &= (1 << count) - 1;
        }
    }
    Ok(out)
}

/// The claims of a token: header.claims.signature, each part base64url.
fn claims(token: &str) -> anyhow::Result<serde_json::Value> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [_, middle, _] = parts.as_slice() else {
        bail!(
            "a JWT has three parts separated by dots; this has {}",
            parts.len()
        );
    };
    let json = base64url_decode(middle).context("decoding the claims")?;
    serde_json::from_slice(&json).context("the claims are not JSON")
}
// ANCHOR_END: claims

fn main() -> anyhow::Result<()> {
    let Some(token) = std::env::args().nth(1) else {
        bail!("usage: sol-ch06-claims TOKEN (e.g. the .token of auth.docker.io's answer)");
    };
    let claims = claims(&token)?;
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}
