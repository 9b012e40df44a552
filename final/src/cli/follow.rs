//! `logs -f`: new lines as the shim writes them. inotify wakes us when the
//! log grows or state.json is replaced; nothing is polled.

use minibox::engine::logs::Entry;
use minibox::Engine;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::io::{BufRead, BufReader, Seek, SeekFrom};

pub fn follow(engine: &Engine, id: &str, from: u64, print: &dyn Fn(&Entry)) -> anyhow::Result<()> {
    let paths = engine.containers.paths(id);
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC)?;
    inotify.add_watch(
        &paths.dir,
        AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_CREATE,
    )?;
    let mut offset = from;
    loop {
        if let Ok(mut file) = std::fs::File::open(paths.log()) {
            file.seek(SeekFrom::Start(offset))?;
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            while reader.read_line(&mut line)? > 0 {
                if !line.ends_with('\n') {
                    break;
                }
                offset += line.len() as u64;
                if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
                    print(&entry);
                }
                line.clear();
            }
        }
        let running = engine
            .reconcile(id)
            .map(|s| s.is_running() || s.shim.is_some_and(|p| p.is_alive()))
            .unwrap_or(false);
        if !running {
            return Ok(());
        }
        let _ = inotify.read_events()?;
    }
}

/// The size of the log now (where following starts).
pub fn log_len(engine: &Engine, id: &str) -> u64 {
    std::fs::metadata(engine.containers.paths(id).log())
        .map(|m| m.len())
        .unwrap_or(0)
}
