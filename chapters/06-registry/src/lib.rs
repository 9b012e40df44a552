//! Chapter 06: the registry is just HTTP — pull and push over the OCI distribution API
//!
//! Being written.
