//! Starting a binary the way a trainer's second terminal would not: in a
//! session of its own, without a controlling terminal.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// `cmd` will start in a new session (setsid), with no controlling
/// terminal: a `--pause` (which reads Enter from /dev/tty when there is
/// one) then reads the test's stdin pipe, not the developer's keyboard.
pub fn without_terminal(cmd: &mut Command) -> &mut Command {
    // Safety: setsid(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    cmd
}
