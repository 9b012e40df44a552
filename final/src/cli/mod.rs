//! The command line's own pieces: attaching, the terminal, tables.

pub mod attach;
pub mod commands;
pub mod follow;
pub mod tables;
pub mod terminal;
pub mod trainer;
