//! Solutions to the book's exercises. Each exercise that asks for code has a
//! binary here (`src/bin/`), included in the book by anchor, built by CI and
//! run by `tests/solutions.rs` — so a solution cannot rot while the chapters
//! change under it.
