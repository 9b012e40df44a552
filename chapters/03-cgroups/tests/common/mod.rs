//! Helpers shared by chapter 03's integration tests.

pub mod bounded;
