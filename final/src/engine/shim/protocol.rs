//! The attach protocol between a CLI and a container's shim, over the
//! shim's unix socket: frames of `[kind: u8][length: u32 BE][payload]`.
//!
//! docker's CLI and daemon speak the same idea over HTTP (a hijacked
//! connection, stdout and stderr multiplexed with an 8-byte header).

use std::io::{Read, Write};

/// CLI → shim: bytes for the container's stdin.
pub const STDIN: u8 = 0;
/// CLI → shim: stdin reached EOF; close the container's.
pub const STDIN_CLOSE: u8 = 1;
/// CLI → shim: the terminal's new size, rows and columns as two u16 BE.
pub const RESIZE: u8 = 2;
/// CLI → shim: start the created container now (we are attached).
pub const START: u8 = 3;
/// shim → CLI: the container's stdout (or its terminal's output).
pub const STDOUT: u8 = 10;
/// shim → CLI: the container's stderr.
pub const STDERR: u8 = 11;
/// shim → CLI: the container ended; payload: its exit code as text.
pub const EXIT: u8 = 12;

pub fn write_frame(out: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(payload.len() + 5);
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    out.write_all(&frame)
}

/// Reads one frame; `None` at EOF.
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > 1 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

/// Splits buffered bytes into complete frames, keeping the rest.
pub fn take_frames(buffer: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    loop {
        if buffer.len() < 5 {
            break;
        }
        let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
        if buffer.len() < 5 + len {
            break;
        }
        let payload = buffer[5..5 + len].to_vec();
        frames.push((buffer[0], payload));
        buffer.drain(..5 + len);
    }
    frames
}
