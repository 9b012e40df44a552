//! Digests: `sha256:` + 64 lowercase hex digits, checked before one ever
//! becomes part of a path or a URL.
//!
//! A digest string comes from a manifest, an index, a registry header or the
//! command line — all of them untrusted. `sha256:../../etc` must never reach
//! `blobs/sha256/…`, so the only way to get a [`Digest`] is to parse one.

use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};

/// A validated sha256 digest. In JSON it is its string form, checked when read.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest {0:?} uses algorithm {1:?}: only sha256 is supported")]
    UnsupportedAlgorithm(String, String),
    #[error("{0:?} is not a digest: expected `sha256:` followed by 64 lowercase hex digits")]
    Malformed(String),
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`; anything else is refused.
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(DigestError::Malformed(text.to_string()));
        };
        if algorithm != "sha256" {
            let known = ["sha512", "sha384", "blake3"].contains(&algorithm);
            if known {
                return Err(DigestError::UnsupportedAlgorithm(
                    text.to_string(),
                    algorithm.to_string(),
                ));
            }
            return Err(DigestError::Malformed(text.to_string()));
        }
        let valid = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(DigestError::Malformed(text.to_string()));
        }
        Ok(Digest {
            hex: hex.to_string(),
        })
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(hasher: Sha256) -> Digest {
        let hex = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Digest { hex }
    }

    /// The 64 hex digits: the file name under `blobs/sha256/`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex digits, as `docker images` shows IDs.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }

    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Digest::parse(&text)
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        digest.to_string()
    }
}

impl std::str::FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

/// Hashes everything read through it (and counts the bytes), so a stream is
/// verified while it is consumed — never read twice.
#[derive(Debug)]
pub struct Sha256Reader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Sha256Reader<R> {
    pub fn new(inner: R) -> Self {
        Sha256Reader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of what was read, and how many bytes that was.
    pub fn finish(self) -> (Digest, u64) {
        (Digest::from_hasher(self.hasher), self.bytes)
    }
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Hashes everything written through it (and counts the bytes).
#[derive(Debug)]
pub struct Sha256Writer<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Sha256Writer<W> {
    pub fn new(inner: W) -> Self {
        Sha256Writer {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Forgets what was written (after the inner writer was rewound).
    pub fn reset(&mut self) {
        self.hasher = Sha256::new();
        self.bytes = 0;
    }

    /// The inner writer, the digest of what was written, and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.bytes)
    }
}

impl<W: Write> Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_sha256_with_64_lowercase_hex() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&good).unwrap().to_string(), good);
        for bad in [
            "sha256:../../etc/passwd".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}/", "a".repeat(64)),
            "a".repeat(64),
            String::new(),
        ] {
            assert!(
                matches!(Digest::parse(&bad), Err(DigestError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Digest::parse(&format!("sha512:{}", "a".repeat(128))),
            Err(DigestError::UnsupportedAlgorithm(..))
        ));
    }

    #[test]
    fn hashes_what_streams_through() {
        // sha256 of the empty string and of "abc", from FIPS 180-2.
        assert_eq!(
            Digest::of(b"").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut reader = Sha256Reader::new(&b"abc"[..]);
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        let (digest, bytes) = reader.finish();
        assert_eq!(bytes, 3);
        assert_eq!(
            digest.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut writer = Sha256Writer::new(Vec::new());
        writer.write_all(b"abc").unwrap();
        let (inner, written, _) = writer.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(written, digest);
    }
}
