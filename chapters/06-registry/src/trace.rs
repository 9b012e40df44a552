//! `--trace-http` and `--curl`: every exchange, readable and replayable.
//!
//! The trace shows the headers that carry the protocol — `WWW-Authenticate`,
//! `Docker-Content-Digest`, `Content-Type`, `Location`, `Range` — and never a
//! secret: `Authorization` values are shown as `<redacted>`, and the curl
//! commands use `$TOKEN` and `$REGISTRY_USER:$REGISTRY_PASSWORD` so a learner
//! can paste them after setting those.

use crate::transport::Exchange;
use std::fmt::Write as _;
use std::sync::Arc;
use ureq::http;

/// Where trace lines go: stderr by default; the demo binary routes them
/// around its progress bars.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

thread_local! {
    /// The request being traced on this thread, printed with its response.
    static PENDING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The headers worth showing: they are the protocol.
const SHOWN: &[&str] = &[
    "www-authenticate",
    "docker-content-digest",
    "content-type",
    "content-length",
    "content-range",
    "location",
    "range",
    "retry-after",
    "docker-upload-uuid",
    "accept",
    "authorization",
    "link",
    // Docker Hub's rate limit, on every manifest response: `100;w=21600`.
    "ratelimit-limit",
    "ratelimit-remaining",
];

/// Prints exchanges when asked to.
#[derive(Clone)]
pub struct Tracer {
    http: bool,
    curl: bool,
    /// Retries and resumes, said even without `--trace-http`.
    notes: bool,
    sink: Sink,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("http", &self.http)
            .field("curl", &self.curl)
            .field("notes", &self.notes)
            .finish()
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Tracer::to_sink(Arc::new(|line: &str| {
            use std::io::Write;
            // Never panic on a closed stderr.
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }))
    }
}

impl Tracer {
    /// A tracer (off until [`Tracer::with`]) that writes to `sink`.
    pub fn to_sink(sink: Sink) -> Tracer {
        Tracer {
            http: false,
            curl: false,
            notes: false,
            sink,
        }
    }

    pub fn with(mut self, http: bool, curl: bool) -> Tracer {
        self.http = http;
        self.curl = curl;
        self
    }

    /// Also say when a request is retried or a download resumed (a pull on
    /// bad Wi-Fi should not look stuck).
    pub fn with_notes(mut self, notes: bool) -> Tracer {
        self.notes = notes;
        self
    }

    /// Before sending: the curl command, then the request line and headers —
    /// kept until the response arrives, so that parallel downloads print
    /// each exchange as one block.
    pub fn request(&self, exchange: &Exchange) {
        let mut text = String::new();
        if self.curl {
            text.push_str(&curl_command(exchange));
        }
        if self.http {
            if !text.is_empty() {
                text.push('\n');
            }
            let _ = write!(text, "> {} {}", exchange.method, exchange.url);
            for (name, value) in &exchange.headers {
                if SHOWN.contains(&name.to_ascii_lowercase().as_str()) {
                    let _ = write!(text, "\n>   {name}: {}", redact(name, value));
                }
            }
            if !exchange.body.is_empty() {
                let _ = write!(text, "\n>   ({} bytes of body)", exchange.body.len());
            }
        }
        PENDING.with(|pending| *pending.borrow_mut() = text);
    }

    /// The request kept by [`Tracer::request`], and `more` after it.
    fn emit(&self, more: &str) {
        let mut text = PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()));
        if !more.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(more);
        }
        if !text.is_empty() {
            (self.sink)(&text);
        }
    }

    /// After the response headers arrived.
    pub fn response(&self, response: &http::Response<ureq::Body>) {
        if !self.http {
            return self.emit("");
        }
        let status = response.status();
        let mut text = format!(
            "< {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        for (name, value) in response.headers() {
            if SHOWN.contains(&name.as_str()) {
                let value = String::from_utf8_lossy(value.as_bytes());
                let _ = write!(
                    text,
                    "\n<   {}: {}",
                    title_case(name.as_str()),
                    redact(name.as_str(), &value)
                );
            }
        }
        self.emit(&text);
    }

    /// When no response came (connection refused, reset, timeout).
    pub fn failure(&self, error: &ureq::Error) {
        match self.http {
            true => self.emit(&format!("< (no response: {error})")),
            false => self.emit(""),
        }
    }

    /// A retry or a resume: why, and when the next try comes.
    pub fn note(&self, text: &str) {
        if self.http || self.notes {
            (self.sink)(&format!("retry: {text}"));
        }
    }
}

fn redact(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        let scheme = value.split(' ').next().unwrap_or("");
        format!("{scheme} <redacted>")
    } else {
        value.to_string()
    }
}

/// `docker-content-digest` → `Docker-Content-Digest`, as registries write them.
fn title_case(name: &str) -> String {
    if name == "www-authenticate" {
        return "WWW-Authenticate".into();
    }
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

// ANCHOR: curl
/// The curl command that makes the same request (secrets as shell variables).
pub fn curl_command(exchange: &Exchange) -> String {
    let mut command = String::from("$ ");
    let token_request = exchange.curl_output.as_deref() == Some("$TOKEN");
    if token_request {
        command.push_str("TOKEN=$(");
    }
    command.push_str("curl -sS");
    match exchange.method {
        http::Method::GET => {}
        http::Method::HEAD => command.push_str(" -I"),
        ref other => {
            let _ = write!(command, " -X {other}");
        }
    }
    for (name, value) in &exchange.headers {
        if name.eq_ignore_ascii_case("authorization") {
            if value.starts_with("Bearer ") {
                command.push_str(" -H \"Authorization: Bearer $TOKEN\"");
            } else {
                command.push_str(" -u \"$REGISTRY_USER:$REGISTRY_PASSWORD\"");
            }
        } else if !name.eq_ignore_ascii_case("content-length") {
            let _ = write!(command, " -H {}", shell_quote(&format!("{name}: {value}")));
        }
    }
    match (&exchange.curl_body, exchange.body.is_empty()) {
        (Some(file), _) => {
            let _ = write!(
                command,
                " --data-binary {}",
                shell_quote(&format!("@{file}"))
            );
        }
        (None, false) => command.push_str(" --data-binary @-"),
        (None, true) => {}
    }
    if let Some(output) = exchange.curl_output.as_deref().filter(|_| !token_request) {
        let _ = write!(command, " -o {}", shell_quote(output));
    }
    let _ = write!(command, " {}", shell_quote(&exchange.url));
    if token_request {
        command.push_str(" | jq -r '.token // .access_token')");
    }
    command
}
// ANCHOR_END: curl

/// Single-quotes for the shell (`'` inside becomes `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_commands_hide_secrets() {
        let exchange = Exchange::new(http::Method::GET, "http://127.0.0.1:5000/v2/x/manifests/y")
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .header("Authorization", "Bearer s3cr3t");
        let command = curl_command(&exchange);
        assert_eq!(
            command,
            "$ curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
             -H \"Authorization: Bearer $TOKEN\" 'http://127.0.0.1:5000/v2/x/manifests/y'"
        );
        let mut token = Exchange::new(http::Method::GET, "https://auth/token?scope=a")
            .header("Authorization", "Basic dTpw");
        token.curl_output = Some("$TOKEN".into());
        let command = curl_command(&token);
        assert!(!command.contains("dTpw"), "{command}");
        assert!(command.starts_with("$ TOKEN=$(curl -sS -u"), "{command}");
        assert_eq!(redact("Authorization", "Basic dTpw"), "Basic <redacted>");
    }
}
