//! The book, checked in a real browser.
//!
//! `mdbook build` succeeding says little about what a reader sees. These tests
//! build the book into a temporary directory, open every page in headless
//! Chromium (Debian's `chromium`, driven over the DevTools protocol on a pipe:
//! `--remote-debugging-pipe`, no network port), and fail when
//!
//! - an image did not load (a missing or broken SVG),
//! - a link inside the book points to a page or an `#anchor` that does not exist,
//! - a code block rendered empty (an `{{#include}}` whose anchor lost its code),
//! - an `{{#include …}}` was left in the page unexpanded.
//!
//! A scratch book with one of each mistake proves the checker catches them,
//! and `mdbook serve` is started on a free port to check it serves the index.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use minibox_testkit::{require_tool, which};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The whole browser session may take this long; past it Chromium is killed
/// (only the process we started), its pipe ends, and the test fails.
const BROWSER_DEADLINE: Duration = Duration::from_secs(180);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `mdbook` on PATH, or where `cargo install` puts it.
fn mdbook() -> Option<PathBuf> {
    which("mdbook").or_else(|| {
        let home = std::env::var_os("HOME")?;
        Some(Path::new(&home).join(".cargo/bin/mdbook")).filter(|p| p.is_file())
    })
}

fn build_book(book_dir: &Path, dest: &Path) {
    let mdbook = mdbook().expect("mdbook (scripts/install-deps --test installs it)");
    let out = Command::new(mdbook)
        .arg("build")
        .arg(book_dir)
        .arg("--dest-dir")
        .arg(dest)
        .output()
        .expect("running mdbook build");
    assert!(
        out.status.success(),
        "mdbook build {} failed:\n{}",
        book_dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Headless Chromium driven over `--remote-debugging-pipe`: commands go to
/// its fd 3, answers and events come from its fd 4, each a JSON text ended by NUL.
struct Browser {
    child: Child,
    commands: File,
    answers: BufReader<File>,
    next_id: u64,
    session: String,
    events: Vec<Value>,
    done: Arc<AtomicBool>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (to_chrome_r, to_chrome_w) = pipe();
        let (from_chrome_r, from_chrome_w) = pipe();
        let (cmd_fd, ans_fd) = (to_chrome_r.as_raw_fd(), from_chrome_w.as_raw_fd());
        let mut command = Command::new("chromium");
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec we only call dup2 and fcntl, which
        // are async-signal-safe; the fds are ours and open.
        unsafe {
            command.pre_exec(move || {
                for (fd, target) in [(cmd_fd, 3), (ans_fd, 4)] {
                    if fd == target {
                        // Already in place: only let it survive the exec.
                        if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    } else if libc::dup2(fd, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("starting chromium");
        drop((to_chrome_r, from_chrome_w));

        // A watchdog: a hung browser is killed (by its PID: we started it),
        // which closes its pipe and turns a hang into a failed read.
        let done = Arc::new(AtomicBool::new(false));
        let (pid, flag) = (child.id() as i32, done.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + BROWSER_DEADLINE;
            while Instant::now() < deadline {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            eprintln!("book_browser: chromium took over {BROWSER_DEADLINE:?}; killing PID {pid}");
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        });

        let mut browser = Browser {
            child,
            commands: File::from(to_chrome_w),
            answers: BufReader::new(File::from(from_chrome_r)),
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            done,
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        browser.call("Page.enable", json!({}));
        browser
    }

    fn read_message(&mut self) -> Value {
        let mut bytes = Vec::new();
        let n = self
            .answers
            .read_until(0, &mut bytes)
            .expect("reading from chromium");
        assert!(
            n > 0 && bytes.last() == Some(&0),
            "chromium closed its pipe (crashed, or killed by the deadline)"
        );
        bytes.pop();
        serde_json::from_slice(&bytes).expect("chromium sent JSON")
    }

    /// Sends one command (to our page's session once attached) and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .expect("writing to chromium");
        loop {
            let answer = self.read_message();
            if answer["id"] == json!(id) {
                if let Some(error) = answer.get("error") {
                    panic!("chromium refused {method}: {error}");
                }
                return answer["result"].clone();
            }
            self.events.push(answer);
        }
    }

    fn wait_for_event(&mut self, method: &str) {
        loop {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| e["method"] == json!(method))
            {
                self.events.drain(..=i);
                return;
            }
            let event = self.read_message();
            self.events.push(event);
        }
    }

    /// Opens `url`, waits for its load event, and returns what the page holds.
    fn inspect(&mut self, url: &str) -> PageReport {
        self.events.clear();
        let navigated = self.call("Page.navigate", json!({"url": url}));
        if let Some(error) = navigated.get("errorText") {
            panic!("chromium could not open {url}: {error}");
        }
        self.wait_for_event("Page.loadEventFired");
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": PAGE_REPORT_JS, "awaitPromise": true, "returnByValue": true}),
        );
        let text = result["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("evaluating on {url}: {result}"));
        serde_json::from_str(text).expect("the page report is JSON")
    }
}

impl Browser {
    /// Prints `url` as Chromium would to paper of this size (inches); the page count.
    fn printed_pages(&mut self, url: &str, width: f64, height: f64) -> usize {
        self.inspect(url);
        let pdf = self.call(
            "Page.printToPDF",
            json!({"paperWidth": width, "paperHeight": height, "printBackground": false}),
        );
        let data = pdf["data"].as_str().expect("a PDF");
        let bytes = base64_decode(data);
        // Each page object says "/Type /Page" (the page tree says "/Pages").
        let text = String::from_utf8_lossy(&bytes);
        text.match_indices("/Type /Page")
            .filter(|(at, _)| !text[at + 11..].starts_with('s'))
            .count()
    }
}

/// Standard base64, as Chromium sends binary data over the protocol.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2")
}

/// Runs in the page once it has loaded: images, links, ids, empty code blocks
/// (with every `<details>` opened, as a reader who clicks everything sees it).
const PAGE_REPORT_JS: &str = r#"(async () => {
  // Collapsed hints, solutions and speaker notes count too: open them all.
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  const main = document.querySelector('main') || document.body;
  return JSON.stringify({
    broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    empty_code_blocks: [...main.querySelectorAll('pre > code')].filter(c => c.innerText.trim() === '').length,
    raw_includes: (main.innerText.match(/\{\{#(rs_)?include[^}]*\}\}/g) || []),
  });
})()"#;

#[derive(Debug, serde::Deserialize)]
struct PageReport {
    broken_images: Vec<String>,
    links: Vec<String>,
    ids: Vec<String>,
    empty_code_blocks: usize,
    raw_includes: Vec<String>,
}

/// Opens every page of a built book and lists what a reader would find broken.
fn problems_in_built_book(built: &Path) -> Vec<String> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(built)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        // 404.html links by the site's absolute URL, which a local file has not.
        .filter(|p| p.file_name().is_some_and(|n| n != "404.html"))
        .collect();
    pages.sort();
    assert!(pages.len() > 1, "no pages in {}", built.display());

    let mut browser = Browser::start();
    let mut reports = BTreeMap::new();
    for page in &pages {
        let url = format!("file://{}", page.display());
        reports.insert(page.clone(), browser.inspect(&url));
    }
    drop(browser);

    let ids: BTreeMap<&PathBuf, BTreeSet<&str>> = reports
        .iter()
        .map(|(p, r)| (p, r.ids.iter().map(String::as_str).collect()))
        .collect();
    let mut problems = Vec::new();
    for (page, report) in &reports {
        let name = page.file_name().unwrap().to_string_lossy();
        for src in &report.broken_images {
            problems.push(format!("{name}: image {src} did not load"));
        }
        if report.empty_code_blocks > 0 {
            problems.push(format!(
                "{name}: {} code block(s) rendered empty (an include whose anchor has no code?)",
                report.empty_code_blocks
            ));
        }
        for include in &report.raw_includes {
            problems.push(format!("{name}: {include} was not expanded"));
        }
        for link in &report.links {
            let Some(rest) = link.strip_prefix("file://") else {
                continue; // https://… is outside the book (and this test is offline)
            };
            let (path, fragment) = rest.split_once('#').unwrap_or((rest, ""));
            let path = PathBuf::from(path.split('?').next().unwrap_or(path));
            let target = if path.is_dir() {
                path.join("index.html")
            } else {
                path
            };
            if !target.is_file() {
                problems.push(format!("{name}: link {link} leads to no page"));
                continue;
            }
            if !fragment.is_empty() {
                let known = ids.get(&target).is_some_and(|set| set.contains(fragment));
                if !known && target.starts_with(built) {
                    problems.push(format!("{name}: link {link}: no #{fragment} on that page"));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn every_page_renders_in_chromium_with_its_images_links_and_code() {
    if !require_tool("every_page_renders_in_chromium", "chromium")
        || !require_tool("every_page_renders_in_chromium", mdbook_name())
    {
        return;
    }
    let dest = tempfile::tempdir().unwrap();
    build_book(&workspace_root().join("book"), dest.path());
    let problems = problems_in_built_book(dest.path());
    assert!(
        problems.is_empty(),
        "the book, as Chromium shows it:\n  {}",
        problems.join("\n  ")
    );
}

/// The cheat sheet is meant for one printed sheet per seat: A4 and US Letter.
#[test]
fn the_cheat_sheet_prints_on_one_sheet() {
    if !require_tool("the_cheat_sheet_prints_on_one_sheet", "chromium")
        || !require_tool("the_cheat_sheet_prints_on_one_sheet", mdbook_name())
    {
        return;
    }
    let dest = tempfile::tempdir().unwrap();
    build_book(&workspace_root().join("book"), dest.path());
    let mut browser = Browser::start();
    // Two sheets: chapters 1-4, and chapters 5-7. Each prints on one.
    for sheet in ["cheat-sheet.html", "cheat-sheet-images.html"] {
        let url = format!("file://{}", dest.path().join(sheet).display());
        for (paper, width, height) in [("A4", 8.27, 11.69), ("Letter", 8.5, 11.0)] {
            let pages = browser.printed_pages(&url, width, height);
            assert_eq!(pages, 1, "{sheet} prints on {pages} {paper} pages, not one");
        }
    }
}

/// The checker must be able to fail: a scratch book with one of each mistake.
#[test]
fn the_browser_check_catches_a_missing_image_a_broken_link_and_an_empty_include() {
    if !require_tool("the_browser_check_catches", "chromium")
        || !require_tool("the_browser_check_catches", mdbook_name())
    {
        return;
    }
    let book = tempfile::tempdir().unwrap();
    let src = book.path().join("src");
    std::fs::create_dir_all(src.join("img")).unwrap();
    std::fs::write(
        book.path().join("book.toml"),
        "[book]\ntitle = \"scratch\"\nsrc = \"src\"\n",
    )
    .unwrap();
    std::fs::write(
        src.join("SUMMARY.md"),
        "# Summary\n\n- [One](one.md)\n- [Two](two.md)\n",
    )
    .unwrap();
    std::fs::write(
        src.join("code.rs"),
        "// ANCHOR: empty\n// ANCHOR_END: empty\nfn main() {}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("img/ok.svg"),
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#,
    )
    .unwrap();
    std::fs::write(
        src.join("one.md"),
        "# One\n\n![fine](img/ok.svg)\n\n![gone](img/missing.svg)\n\n[fine](two.md#two) [no page](three.md) [no anchor](two.md#nowhere)\n\n```rust\n{{#include code.rs:empty}}\n```\n",
    )
    .unwrap();
    std::fs::write(src.join("two.md"), "# Two\n\nThe end.\n").unwrap();
    let dest = tempfile::tempdir().unwrap();
    build_book(book.path(), dest.path());

    let problems = problems_in_built_book(dest.path());
    let has = |needle: &str| {
        problems
            .iter()
            .any(|p| p.starts_with("one.html") && p.contains(needle))
    };
    assert!(has("image img/missing.svg did not load"), "{problems:#?}");
    assert!(has("three.html leads to no page"), "{problems:#?}");
    assert!(has("no #nowhere on that page"), "{problems:#?}");
    assert!(has("1 code block(s) rendered empty"), "{problems:#?}");
    assert!(
        !problems
            .iter()
            .any(|p| p.contains("ok.svg") || p.contains("#two")),
        "{problems:#?}"
    );
}

fn mdbook_name() -> &'static str {
    // require_tool takes a name on PATH or a path; `cargo install` puts mdbook
    // in ~/.cargo/bin, which CI's PATH has (scripts/test adds it).
    if which("mdbook").is_some() {
        "mdbook"
    } else if let Some(path) = mdbook() {
        Box::leak(path.display().to_string().into_boxed_str())
    } else {
        "mdbook"
    }
}

/// `mdbook serve book`, as the README says, serves the index on localhost.
#[test]
fn mdbook_serve_serves_the_index_on_localhost() {
    if !require_tool("mdbook_serve_serves_the_index_on_localhost", mdbook_name()) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dest = tempfile::tempdir().unwrap();
    let mut server = ServeGuard(
        Command::new(mdbook().unwrap())
            .arg("serve")
            .arg(workspace_root().join("book"))
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dest-dir")
            .arg(dest.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mdbook serve"),
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let response = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
                .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && response.contains("</html>") {
                break response;
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            let mut stderr = String::new();
            let _ = server.0.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("mdbook serve exited ({status}) before serving:\n{stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "mdbook serve did not answer on 127.0.0.1:{port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let status_line = response.lines().next().unwrap_or_default();
    assert!(status_line.contains(" 200"), "GET / answered {status_line}");
    assert!(response.contains("<title>"), "the index is an HTML page");
    assert!(
        response.contains("A container is not a thing"),
        "the index is the introduction"
    );
}

/// Stops the `mdbook serve` we started (by its PID), however the test ends.
struct ServeGuard(Child);

impl Drop for ServeGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
