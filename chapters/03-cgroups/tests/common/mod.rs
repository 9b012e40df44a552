//! Helpers shared by chapter 03's integration tests.

pub use minibox_testkit::bounded;
