//! The troubleshooting page and `minibox doctor` say the same things.
//!
//! Every fix the doctor can print (`.fix("…")` in `src/doctor/*.rs`) must be
//! quoted on `book/src/troubleshooting.md` in a `**The doctor says:**` line,
//! and every such line must be a fix the doctor really prints — so neither
//! can change without the other.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

const MARKER: &str = "**The doctor says:**";

/// The text of the string literal that starts at `text` (just after its `"`).
fn literal(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    panic!("unterminated string literal: {text:.40}");
}

/// Every fix text in the doctor's sources; `{}` placeholders stay as they are.
fn doctor_fixes() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/doctor");
    let mut fixes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().map_or(true, |e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices(".fix(") {
            let arg = source[at + 5..].trim_start();
            let arg = arg.strip_prefix("format!(").map_or(arg, str::trim_start);
            if let Some(rest) = arg.strip_prefix('"') {
                fixes.push(literal(rest));
            } else {
                // `.fix(install)`: the variable's `let install = "…";` in the same file.
                let name: String = arg
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let binding = format!("let {name} = \"");
                let start = source.find(&binding).unwrap_or_else(|| {
                    panic!(
                        "{}: .fix({name}) without `let {name} = \"…\"`",
                        path.display()
                    )
                });
                fixes.push(literal(&source[start + binding.len()..]));
            }
        }
    }
    fixes.sort();
    fixes.dedup();
    fixes
}

/// The text of each `**The doctor says:** `` … ``` line on the page.
fn page_quotes() -> Vec<String> {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/troubleshooting.md");
    std::fs::read_to_string(page)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(MARKER))
        .map(|q| {
            let q = q.trim();
            let q = q
                .strip_prefix("``")
                .and_then(|q| q.strip_suffix("``"))
                .unwrap_or(q);
            q.trim().to_string()
        })
        .collect()
}

/// Does `quote` say `fix`, with each `{…}` of a format string standing for anything?
fn says(quote: &str, fix: &str) -> bool {
    let mut rest = quote;
    let mut parts = Vec::new();
    let mut fixed = fix;
    while let Some(open) = fixed.find('{') {
        parts.push(&fixed[..open]);
        fixed = fixed[open..]
            .find('}')
            .map_or("", |close| &fixed[open + close + 1..]);
    }
    parts.push(fixed);
    let whole = parts.len() == 1;
    if whole {
        return quote == fix;
    }
    for (i, part) in parts.iter().enumerate() {
        match rest.find(part) {
            Some(at) if i > 0 || at == 0 => rest = &rest[at + part.len()..],
            _ => return false,
        }
    }
    rest.is_empty() || parts.last().is_some_and(|p| p.is_empty())
}

#[test]
fn every_fix_the_doctor_prints_is_on_the_troubleshooting_page() {
    let fixes = doctor_fixes();
    assert!(
        fixes.len() >= 10,
        "found only {} fixes in src/doctor",
        fixes.len()
    );
    let quotes = page_quotes();
    let missing: Vec<&String> = fixes
        .iter()
        .filter(|f| !quotes.iter().any(|q| says(q, f)))
        .collect();
    assert!(
        missing.is_empty(),
        "book/src/troubleshooting.md should quote these doctor fixes in a `{MARKER} `` … ``` line:\n  {}",
        missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn every_doctor_quote_on_the_page_is_something_the_doctor_prints() {
    let fixes = doctor_fixes();
    let stale: Vec<String> = page_quotes()
        .into_iter()
        .filter(|q| !fixes.iter().any(|f| says(q, f)))
        .collect();
    assert!(
        stale.is_empty(),
        "book/src/troubleshooting.md quotes the doctor, but the doctor no longer says:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn placeholders_match_anything_but_the_rest_must_be_equal() {
    assert!(says("cat /sys/fs/cgroup/x", "cat {}/x"));
    assert!(!says("cat /sys/fs/cgroup/y", "cat {}/x"));
    assert!(says("exactly this", "exactly this"));
    assert!(!says("exactly this, and more", "exactly this"));
}
