//! Chapter 07: limited in what it may do — capabilities, seccomp, no_new_privs, masks, devices, users
//!
//! Being written.
