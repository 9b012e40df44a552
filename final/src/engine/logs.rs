//! The container's log in docker's json-file format: one JSON object per
//! line, `{"log":"hello\n","stream":"stdout","time":"2026-…Z"}` — written by
//! the shim, read by `minibox logs` without disturbing anyone.

use super::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

// ANCHOR: writer
/// Appends entries; splits output at newlines as docker does, keeping a
/// partial line until its newline comes (or 16 KiB pile up, or the end).
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(EngineError::io("opening the log", path))?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// `stream`: 0 stdout, 1 stderr.
    pub fn write(&mut self, stream: usize, bytes: &[u8]) {
        let buffer = &mut self.partial[stream];
        buffer.extend_from_slice(bytes);
        while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            Self::entry(&mut self.file, stream, &line);
        }
        if buffer.len() >= 16 * 1024 {
            let line = std::mem::take(buffer);
            Self::entry(&mut self.file, stream, &line);
        }
    }

    /// Writes what is left of partial lines.
    pub fn flush(&mut self) {
        for stream in 0..2 {
            let line = std::mem::take(&mut self.partial[stream]);
            if !line.is_empty() {
                Self::entry(&mut self.file, stream, &line);
            }
        }
    }

    fn entry(file: &mut File, stream: usize, line: &[u8]) {
        let entry = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: if stream == 0 { "stdout" } else { "stderr" }.into(),
            time: ch08_runtime::time::now_rfc3339(),
        };
        if let Ok(mut text) = serde_json::to_vec(&entry) {
            text.push(b'\n');
            // A full disk must not stop the container: the line is lost, the shim goes on.
            let _ = file.write_all(&text);
        }
    }
}
// ANCHOR_END: writer

/// Every entry of the log (a missing log is an empty one).
pub fn read_all(path: &Path) -> Vec<Entry> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(std::result::Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}
