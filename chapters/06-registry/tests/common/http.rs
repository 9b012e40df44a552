//! The little HTTP/1.1 the test servers need: read a request or response
//! head and its Content-Length body from a stream.

use std::io::{Read, Write};
use std::net::TcpStream;

/// A message head (request or status line + headers) and its body.
#[derive(Debug, Clone)]
pub struct Message {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// `GET /v2/x?y HTTP/1.1` → ("GET", "/v2/x?y").
    pub fn method_and_target(&self) -> (String, String) {
        let mut parts = self.start_line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        (method, target)
    }

    /// `HTTP/1.1 200 OK` → 200.
    pub fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The head as bytes (start line, headers, blank line).
    pub fn head_bytes(&self) -> Vec<u8> {
        let mut head = format!("{}\r\n", self.start_line);
        for (name, value) in &self.headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n";
        head.into_bytes()
    }

    pub fn write_to(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        stream.write_all(&self.head_bytes())?;
        stream.write_all(&self.body)
    }
}

/// Reads one message; the body by Content-Length, or to EOF when `to_eof`;
/// none at all for the answer to a HEAD (`answers_head`).
pub fn read_message(
    stream: &mut TcpStream,
    to_eof: bool,
    answers_head: bool,
) -> std::io::Result<Message> {
    let mut buffer = Vec::new();
    let mut byte = [0u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buffer).into_owned();
    let mut lines = head.split("\r\n");
    let start_line = lines.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut message = Message {
        start_line,
        headers,
        body: Vec::new(),
    };
    let length = message
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok());
    let bodiless = answers_head
        || matches!(message.status(), 204 | 304)
        || (message.start_line.starts_with("HTTP/") && message.status() / 100 == 1);
    if bodiless {
    } else if let Some(length) = length {
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body)?;
        message.body = body;
    } else if to_eof && !bodiless {
        stream.read_to_end(&mut message.body)?;
    }
    Ok(message)
}

/// A response with a body and Content-Length.
pub fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8]) -> Message {
    let mut message = Message {
        start_line: format!("HTTP/1.1 {status} {reason}"),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
    };
    message.set_header("Content-Length", &body.len().to_string());
    message.set_header("Connection", "close");
    message
}
