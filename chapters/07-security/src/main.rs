//! `ch07-security`: being written.

fn main() {
    eprintln!("ch07-security: being written");
    std::process::exit(ch01_chroot::process::exit_code::TOOL_FAILED);
}
