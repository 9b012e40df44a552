//! An entry's name, made relative to the layer root.
//!
//! Names are cleaned *lexically*, as containerd, umoci and docker do: `./`
//! and empty components go, `..` removes the component before it, and a `..`
//! at the top stays at the top — `../../etc/x` and `/etc/x` both mean
//! `etc/x` inside the layer (contained, not refused). Symlinks are not looked
//! at here; the resolver follows them, also inside the root.

/// Longer names cannot be opened by path on Linux, so no real layer has them;
/// refusing them also bounds how deep a layer's directories can go.
pub(crate) const MAX_NAME: usize = 4096;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameProblem {
    Nul,
    TooLong,
}

impl NameProblem {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            NameProblem::Nul => "contains a NUL byte",
            NameProblem::TooLong => "is longer than 4096 bytes",
        }
    }
}

// ANCHOR: clean
/// Writes the cleaned form of `raw` into `out` (reused between entries) and
/// tells whether a `..` tried to climb above the root.
pub(crate) fn clean(raw: &[u8], out: &mut Vec<u8>) -> Result<bool, NameProblem> {
    if raw.contains(&0) {
        return Err(NameProblem::Nul);
    }
    if raw.len() > MAX_NAME {
        return Err(NameProblem::TooLong);
    }
    out.clear();
    let mut climbed = false;
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => match out.iter().rposition(|&b| b == b'/') {
                Some(slash) => out.truncate(slash),
                None if out.is_empty() => climbed = true, // clamped at the root
                None => out.clear(),
            },
            name => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(name);
            }
        }
    }
    Ok(climbed)
}
// ANCHOR_END: clean

/// Splits a cleaned name into its parent directory (`""` for the root) and
/// its last component (`""` only for the root itself).
pub(crate) fn split(clean: &[u8]) -> (&[u8], &[u8]) {
    match clean.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&clean[..slash], &clean[slash + 1..]),
        None => (&[], clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(raw: &str) -> (String, bool) {
        let mut out = Vec::new();
        let climbed = clean(raw.as_bytes(), &mut out).unwrap();
        (String::from_utf8(out).unwrap(), climbed)
    }

    #[test]
    fn names_stay_inside_the_root() {
        assert_eq!(cleaned("./usr/bin/"), ("usr/bin".into(), false));
        assert_eq!(cleaned("/etc/passwd"), ("etc/passwd".into(), false));
        assert_eq!(cleaned("../../etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(cleaned("a/../../b"), ("b".into(), true));
        assert_eq!(cleaned("a/b/../c//./d"), ("a/c/d".into(), false));
        assert_eq!(cleaned("./"), (String::new(), false));
        assert_eq!(cleaned(".."), (String::new(), true));
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b""[..], &b"c"[..]));
        let mut out = Vec::new();
        assert_eq!(clean(b"a\0b", &mut out), Err(NameProblem::Nul));
        assert_eq!(
            clean(&vec![b'a'; MAX_NAME + 1], &mut out),
            Err(NameProblem::TooLong)
        );
    }
}
