//! `ch06-registry`: being written.

fn main() {
    eprintln!("ch06-registry: being written");
    std::process::exit(ch01_chroot::process::exit_code::TOOL_FAILED);
}
