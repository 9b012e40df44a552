//! The ways chapter 05 can fail, each with what to do about it.

pub use crate::digest::DigestError;
