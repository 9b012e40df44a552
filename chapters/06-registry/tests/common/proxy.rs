//! A fault-injecting HTTP proxy on 127.0.0.1, in front of a real registry:
//! each rule breaks the next N matching requests in one way — a connection
//! dropped mid-body, a 500, a 429 with Retry-After, a short body, a flipped
//! byte, a redirect to another host. Everything else passes through.

use super::http::{read_message, response, Message};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone)]
pub enum Fault {
    /// Send the head and this many body bytes, then close.
    DropAfter(usize),
    /// Answer this status without asking the registry.
    Status(u16),
    /// 429 Too Many Requests with `Retry-After: SECONDS`.
    TooMany(u64),
    /// A complete-looking response whose body (and Content-Length) is cut to N bytes.
    Truncate(usize),
    /// The byte at this offset of the body, inverted.
    FlipByte(usize),
    /// 307 to this base URL + the same path.
    Redirect(String),
    /// Send the head and this many body bytes, then nothing for 30 s.
    Stall(usize),
    /// Forward the request, then close without any answer.
    Swallow,
    /// Replace the body (if given) and these headers.
    Rewrite {
        body: Option<Vec<u8>>,
        headers: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// The method it matches (GET for downloads, PATCH for uploads…).
    pub method: String,
    /// Matches requests whose path contains this.
    pub path_contains: String,
    pub fault: Fault,
    /// How many matching requests it breaks (then it is spent).
    pub times: usize,
}

/// A request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub range: Option<String>,
    pub authorization: bool,
    pub at: Instant,
    pub fault: Option<String>,
}

#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    pub rules: Arc<Mutex<Vec<Rule>>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let rules = Arc::new(Mutex::new(rules));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, rules2, seen2, upstream) = (
            stop.clone(),
            rules.clone(),
            seen.clone(),
            upstream.to_string(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (rules, seen, upstream) = (rules2.clone(), seen2.clone(), upstream.clone());
                std::thread::spawn(move || handle(stream, &upstream, &rules, &seen));
            }
        });
        FaultProxy {
            port,
            stop,
            rules,
            seen,
        }
    }

    /// `127.0.0.1:PORT`: use it as the registry part of a reference.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn take_fault(rules: &Mutex<Vec<Rule>>, method: &str, target: &str) -> Option<Fault> {
    let mut rules = rules.lock().unwrap();
    let rule = rules
        .iter_mut()
        .find(|r| r.times > 0 && r.method == method && target.contains(&r.path_contains))?;
    rule.times -= 1;
    Some(rule.fault.clone())
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    rules: &Mutex<Vec<Rule>>,
    seen: &Mutex<Vec<Seen>>,
) {
    // One request per connection: we answer with Connection: close.
    let Ok(mut request) = read_message(&mut client, false, false) else {
        return;
    };
    let (method, target) = request.method_and_target();
    let fault = take_fault(rules, &method, &target);
    seen.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        range: request.header("range").map(str::to_string),
        authorization: request.header("authorization").is_some(),
        at: Instant::now(),
        fault: fault.as_ref().map(|f| format!("{f:?}")),
    });
    let quick = match &fault {
        Some(Fault::Status(status)) => Some(response(
            *status,
            "Injected",
            &[],
            b"{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected by the test proxy\"}]}",
        )),
        Some(Fault::TooMany(seconds)) => Some(response(
            429,
            "Too Many Requests",
            &[("Retry-After", &seconds.to_string())],
            b"",
        )),
        Some(Fault::Redirect(base)) => Some(response(
            307,
            "Temporary Redirect",
            &[("Location", &format!("{base}{target}"))],
            b"",
        )),
        _ => None,
    };
    if let Some(answer) = quick {
        let _ = answer.write_to(&mut client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    request.set_header("Connection", "close");
    if request.write_to(&mut server).is_err() {
        return;
    }
    let Ok(mut answer) = read_message(&mut server, true, method == "HEAD") else {
        return;
    };
    answer.set_header("Connection", "close");
    match fault {
        Some(Fault::DropAfter(n)) => {
            use std::io::Write;
            let n = n.min(answer.body.len());
            let _ = client.write_all(&answer.head_bytes());
            let _ = client.write_all(&answer.body[..n]);
            let _ = client.flush();
            let _ = client.shutdown(std::net::Shutdown::Both);
            return;
        }
        Some(Fault::Swallow) => {
            let _ = client.shutdown(std::net::Shutdown::Both);
            return;
        }
        Some(Fault::Stall(n)) => {
            use std::io::Write;
            let n = n.min(answer.body.len());
            let _ = client.write_all(&answer.head_bytes());
            let _ = client.write_all(&answer.body[..n]);
            let _ = client.flush();
            std::thread::sleep(std::time::Duration::from_secs(30));
            return;
        }
        Some(Fault::Truncate(n)) => {
            answer.body.truncate(n);
            let length = answer.body.len().to_string();
            answer.set_header("Content-Length", &length);
        }
        Some(Fault::Rewrite { body, headers }) => {
            if let Some(body) = body {
                answer.body = body;
                let length = answer.body.len().to_string();
                answer.set_header("Content-Length", &length);
            }
            for (name, value) in headers {
                answer.set_header(&name, &value);
            }
        }
        Some(Fault::FlipByte(i)) => {
            if let Some(byte) = answer.body.get_mut(i) {
                *byte ^= 0xff;
            }
        }
        _ => {}
    }
    let _: Result<(), _> = write_answer(&mut client, &answer);
}

fn write_answer(client: &mut TcpStream, answer: &Message) -> std::io::Result<()> {
    answer.write_to(client)
}

/// A stand-in for a CDN: serves fixed bodies by path and records whether
/// requests carried Authorization (they must not).
#[derive(Debug)]
pub struct Cdn {
    port: u16,
    stop: Arc<AtomicBool>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Cdn {
    pub fn start(files: Vec<(String, Vec<u8>)>) -> Cdn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let Ok(request) = read_message(&mut stream, false, false) else {
                    continue;
                };
                let (method, target) = request.method_and_target();
                seen2.lock().unwrap().push(Seen {
                    method,
                    target: target.clone(),
                    range: request.header("range").map(str::to_string),
                    authorization: request.header("authorization").is_some(),
                    at: Instant::now(),
                    fault: None,
                });
                let answer = match files
                    .iter()
                    .find(|(path, _)| target.ends_with(path.as_str()))
                {
                    Some((_, body)) => response(
                        200,
                        "OK",
                        &[("Content-Type", "application/octet-stream")],
                        body,
                    ),
                    None => response(404, "Not Found", &[], b""),
                };
                let _ = answer.write_to(&mut stream);
            }
        });
        Cdn { port, stop, seen }
    }

    /// `http://localhost:PORT`: another host name than the registry's 127.0.0.1.
    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

impl Drop for Cdn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
