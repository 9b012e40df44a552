//! The CLI side of attaching: our stdin to the container, its output to
//! our stdout/stderr, our signals and window size to it, until the shim
//! says how it ended.

use super::terminal::{self, RawMode};
use ch08_runtime::forward::FORWARDED;
use minibox::engine::shim::protocol;
use minibox::Engine;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// Signals we take through a signalfd (blocked first, so none is lost).
pub fn signal_fd() -> anyhow::Result<SignalFd> {
    let mut mask = SigSet::empty();
    for sig in FORWARDED {
        mask.add(sig);
    }
    mask.add(Signal::SIGWINCH);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
    Ok(SignalFd::with_flags(
        &mask,
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )?)
}

fn send_size(stream: &mut UnixStream) {
    if let Some((rows, cols)) = terminal::size() {
        let mut payload = rows.to_be_bytes().to_vec();
        payload.extend_from_slice(&cols.to_be_bytes());
        let _ = protocol::write_frame(stream, protocol::RESIZE, &payload);
    }
}

/// Connects to the container's shim.
pub fn connect(engine: &Engine, id: &str) -> anyhow::Result<UnixStream> {
    let path = engine.containers.paths(id).attach_socket();
    UnixStream::connect(&path)
        .map_err(|e| anyhow::anyhow!("attaching to {} ({}): {e}", &id[..12], path.display()))
}

/// The terminal's size (with `-t`), then START: the shim starts the
/// created container. Its output waits in the socket until `run` reads it.
pub fn start(stream: &mut UnixStream, tty: bool) -> anyhow::Result<()> {
    if tty {
        send_size(stream);
    }
    protocol::write_frame(stream, protocol::START, &[])?;
    Ok(())
}

// ANCHOR: attach
/// After `start`: relays until EXIT; returns the exit code.
pub fn run(
    engine: &Engine,
    id: &str,
    mut stream: UnixStream,
    stdin: bool,
    tty: bool,
    signals: &SignalFd,
) -> anyhow::Result<i32> {
    let _raw = if tty { Some(RawMode::enter()) } else { None };
    let mut stdin_open = stdin;
    let mut buffer = Vec::new();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        let mut fds = vec![
            readable(stream.as_raw_fd()),
            readable(signals.as_raw_fd()),
            readable(if stdin_open { 0 } else { -1 }),
        ];
        // Safety: a valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            while let Ok(Some(info)) = signals.read_signal() {
                let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                    continue;
                };
                if sig == Signal::SIGWINCH {
                    send_size(&mut stream);
                } else {
                    // docker's sig-proxy: our signal goes to the container.
                    let _ = engine.kill(id, sig);
                }
            }
        }
        if fds[2].revents != 0 {
            let mut chunk = [0u8; 8192];
            match std::io::stdin().lock().read(&mut chunk) {
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    let _ = protocol::write_frame(&mut stream, protocol::STDIN_CLOSE, &[]);
                }
                Ok(n) => {
                    let _ = protocol::write_frame(&mut stream, protocol::STDIN, &chunk[..n]);
                }
            }
        }
        if fds[0].revents != 0 {
            let mut chunk = [0u8; 32 * 1024];
            let n = match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return Ok(exit_from_state(engine, id)),
                Ok(n) => n,
            };
            buffer.extend_from_slice(&chunk[..n]);
            for (kind, payload) in protocol::take_frames(&mut buffer) {
                match kind {
                    protocol::STDOUT => {
                        let _ = out.write_all(&payload);
                        let _ = out.flush();
                    }
                    protocol::STDERR => {
                        let _ = err.write_all(&payload);
                    }
                    protocol::EXIT => {
                        return Ok(String::from_utf8_lossy(&payload)
                            .trim()
                            .parse()
                            .unwrap_or(255));
                    }
                    _ => {}
                }
            }
        }
    }
}
// ANCHOR_END: attach

/// The shim went away without a word (killed): what the state says.
fn exit_from_state(engine: &Engine, id: &str) -> i32 {
    engine.wait_shim(id, std::time::Duration::from_secs(5));
    match engine.reconcile(id) {
        Ok(state) => state.exit_code,
        Err(_) => 0, // removed by --rm: the exit code is gone with it
    }
}

/// `exec -t`: relays between our terminal and the pty master until `pid` ends.
pub fn relay_pty(
    master: std::os::fd::OwnedFd,
    pid: i32,
    stdin: bool,
    signals: &SignalFd,
) -> anyhow::Result<()> {
    let _raw = RawMode::enter();
    let mut master = std::fs::File::from(master);
    if let Some((rows, cols)) = terminal::size() {
        minibox::engine::shim::console::set_size(&master, rows, cols);
    }
    let pidfd = minibox::engine::shim::server::pidfd_open(pid);
    let mut stdin_open = stdin;
    let mut out = std::io::stdout();
    loop {
        let mut fds = vec![
            readable(master.as_raw_fd()),
            readable(signals.as_raw_fd()),
            readable(if stdin_open { 0 } else { -1 }),
            readable(pidfd.as_ref().map_or(-1, |f| f.as_raw_fd())),
        ];
        // Safety: a valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            while let Ok(Some(info)) = signals.read_signal() {
                if info.ssi_signo as i32 == Signal::SIGWINCH as i32 {
                    if let Some((rows, cols)) = terminal::size() {
                        minibox::engine::shim::console::set_size(&master, rows, cols);
                    }
                } else if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
                }
            }
        }
        if fds[2].revents != 0 {
            let mut chunk = [0u8; 8192];
            match std::io::stdin().lock().read(&mut chunk) {
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    let _ = master.write_all(&[4]);
                }
                Ok(n) => {
                    let _ = master.write_all(&chunk[..n]);
                }
            }
        }
        if fds[0].revents != 0 {
            let mut chunk = [0u8; 32 * 1024];
            match master.read(&mut chunk) {
                Ok(0) | Err(_) => return Ok(()),
                Ok(n) => {
                    let _ = out.write_all(&chunk[..n]);
                    let _ = out.flush();
                }
            }
        }
        if fds[3].revents != 0 && fds[0].revents == 0 {
            return Ok(());
        }
    }
}

/// A poll(2) entry that waits for `fd` to be readable (-1: ignored).
fn readable(fd: std::os::fd::RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}
