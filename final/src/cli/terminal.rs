//! The caller's terminal in raw mode for `-t`, restored on every way out:
//! the guard's Drop runs on return, on error and on panic; signals arrive
//! through a signalfd, so none can end us between raw and restore.

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use std::io::IsTerminal;

/// Raw mode on stdin while alive.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    // ANCHOR: raw
    /// Keys go to the container as typed (^C is a byte for its terminal to
    /// turn into SIGINT, not a signal for us); nothing is echoed twice.
    pub fn enter() -> RawMode {
        if !std::io::stdin().is_terminal() {
            return RawMode { saved: None };
        }
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(&stdin) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
    // ANCHOR_END: raw
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}

/// The size of our terminal (rows, columns), if stdin or stdout is one.
pub fn size() -> Option<(u16, u16)> {
    for fd in [0, 1] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // Safety: TIOCGWINSZ writes one winsize.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}
