//! What a pull or push looks like: `docker pull`-style bars on a terminal,
//! one plain line per event otherwise (logs, pipes, the book's transcripts).

use ch01_chroot::{Narrator, Verbosity};
use ch05_images::Digest;
use ch06_registry::pull::PullEvent;
use ch06_registry::push::PushEvent;
use ch06_registry::trace::{Sink, Tracer};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// Renders events; shared by the download threads.
pub struct Display {
    narrator: Narrator,
    /// The bars while blobs move; taken away once they are all done, so the
    /// lines after them are printed plainly below.
    bars: Mutex<Option<MultiProgress>>,
    by_digest: Mutex<HashMap<Digest, ProgressBar>>,
    /// Blobs whose "Downloading" line was printed (plain mode prints it once).
    announced: Mutex<Vec<Digest>>,
    /// Whether any blob was downloaded (docker: "Downloaded newer image").
    pub downloaded: std::sync::atomic::AtomicBool,
}

/// Writes a line to stderr; a closed stderr is not worth a panic.
fn line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

impl Display {
    pub fn new(narrator: Narrator) -> Arc<Display> {
        let terminal = std::io::stderr().is_terminal() && narrator.verbosity() != Verbosity::Quiet;
        let bars = terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(Display {
            narrator,
            bars: Mutex::new(bars),
            by_digest: Mutex::default(),
            announced: Mutex::default(),
            downloaded: Default::default(),
        })
    }

    /// A tracer whose lines do not tear the progress bars.
    pub fn tracer(self: &Arc<Self>) -> Tracer {
        let display = Arc::clone(self);
        let sink: Sink = Arc::new(move |text: &str| display.print(text));
        Tracer::to_sink(sink)
    }

    fn bars(&self) -> Option<MultiProgress> {
        self.bars.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Leaves the (finished) bars where they are; what follows is plain lines.
    fn detach_bars(&self) {
        self.bars.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// docker's summary lines (`Digest: …`, `Status: …`): not with `--quiet`.
    pub fn summary(&self, text: &str) {
        if self.narrator.verbosity() != Verbosity::Quiet {
            self.print(text);
        }
    }

    /// A line above the bars (or just a line).
    pub fn print(&self, text: &str) {
        match &self.bars() {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => line(text),
        }
    }

    fn status(&self, digest: &Digest, text: &str) {
        if self.narrator.verbosity() == Verbosity::Quiet {
            return;
        }
        match self.bar(digest) {
            Some(bar) => bar.set_message(text.to_string()),
            None => self.print(&format!("{}: {text}", digest.short())),
        }
    }

    fn bar(&self, digest: &Digest) -> Option<ProgressBar> {
        self.by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
            .cloned()
    }

    fn add_bar(&self, digest: &Digest, size: u64) {
        let Some(bars) = self.bars() else { return };
        let style =
            ProgressStyle::with_template("{prefix}: {msg:<16} {bar:40} {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = bars.add(ProgressBar::new(size).with_style(style));
        bar.set_prefix(digest.short().to_string());
        self.by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.clone(), bar);
    }

    fn finish(&self, digest: &Digest, text: &str) {
        match self.bar(digest) {
            Some(bar) => bar.finish_with_message(text.to_string()),
            None => self.status(digest, text),
        }
    }

    /// A status printed once per blob in plain mode (not once per chunk).
    fn announce_once(&self, digest: &Digest, text: &str) {
        let mut announced = self.announced.lock().unwrap_or_else(|p| p.into_inner());
        if !announced.contains(digest) {
            announced.push(digest.clone());
            drop(announced);
            self.status(digest, text);
        }
    }

    pub fn pull_event(&self, event: PullEvent) {
        use std::sync::atomic::Ordering;
        match event {
            PullEvent::Endpoint { base, mirror } => self.narrator.step(&format!(
                "talking to {base}{}: GET /v2/ first — is it a registry, and how does it want us to log in?",
                if mirror { " (a mirror)" } else { "" }
            )),
            PullEvent::MirrorFailed { base, error } => self.narrator.warn(&format!(
                "mirror {base} failed ({error}); trying the next source"
            )),
            PullEvent::Resolved { digest, media_type } => self
                .narrator
                .step(&format!("resolved to {digest} ({media_type})")),
            PullEvent::PlatformChosen { platform, digest } => self
                .narrator
                .step(&format!("the index's entry for {platform} is {digest}")),
            PullEvent::OtherPlatform { wanted, found } => self.narrator.warn(&format!(
                "this image is for {found}, not {wanted} (it has no index to choose from): \
                 it runs here only if this machine can execute {found} binaries"
            )),
            PullEvent::Waiting { digest, size, .. } => {
                self.add_bar(&digest, size);
                self.status(&digest, "Waiting");
            }
            PullEvent::AlreadyExists { digest } => self.finish(&digest, "Already exists"),
            PullEvent::Downloading {
                digest, written, ..
            } => match self.bar(&digest) {
                Some(bar) => {
                    bar.set_message("Downloading");
                    bar.set_position(written);
                }
                None => self.announce_once(&digest, "Downloading"),
            },
            PullEvent::Refetching { digest, reason } => {
                if let Some(bar) = self.bar(&digest) {
                    bar.set_position(0);
                }
                self.narrator.warn(&format!(
                    "{}: {reason}; downloading it once more",
                    digest.short()
                ));
            }
            PullEvent::Complete { digest } => {
                self.downloaded.store(true, Ordering::Relaxed);
                self.finish(&digest, "Pull complete")
            }
            PullEvent::Committing => {
                self.detach_bars();
                self.narrator
                    .step("every blob verified: chapter 05 unpacks the layers and writes the name")
            }
        }
    }

    pub fn push_event(&self, event: PushEvent) {
        match event {
            PushEvent::Exists { digest } => self.status(&digest, "Layer already exists"),
            PushEvent::Mounted { digest, from } => {
                self.status(&digest, &format!("Mounted from {from}"))
            }
            PushEvent::Uploading { digest, sent, size } => {
                if self.bars().is_none() {
                    return self.announce_once(&digest, "Pushing");
                }
                if self.bar(&digest).is_none() {
                    self.add_bar(&digest, size);
                }
                if let Some(bar) = self.bar(&digest) {
                    bar.set_message("Pushing");
                    bar.set_position(sent);
                }
            }
            PushEvent::Restarting { digest, reason } => self.narrator.warn(&format!(
                "{}: {reason}; uploading it again in a new session",
                digest.short()
            )),
            PushEvent::Pushed { digest } => self.finish(&digest, "Pushed"),
        }
    }
}
