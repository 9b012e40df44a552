//! The transport: one HTTP exchange at a time, visible.
//!
//! Everything a registry client does is an ordinary HTTP request. This module
//! sends one (with ureq), decides http or https for a registry, and — with
//! `--trace-http` / `--curl` — shows each exchange the way a learner can
//! replay it. Redirects, retries and authentication are the client's job
//! (client.rs), so each hop appears in the trace.

use crate::retry::{parse_retry_after, retryable_status, Retrier, RetryPolicy};
use crate::trace::Tracer;
use std::net::IpAddr;
use std::time::Duration;
use ureq::http::{self, Method};

/// A request to send: method, URL, headers, a body held in memory.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'a [u8],
    /// What `--curl` should do with the response body (`-o FILE`), if anything.
    pub curl_output: Option<String>,
    /// Where `--curl` reads the request body from (`--data-binary @FILE`).
    pub curl_body: Option<String>,
}

impl<'a> Exchange<'a> {
    pub fn new(method: Method, url: impl Into<String>) -> Exchange<'a> {
        Exchange {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: &[],
            curl_output: None,
            curl_body: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// The value of a header we set, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the transport may do beyond verified https.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Registries (`host[:port]`) allowed plain http and unverified TLS.
    pub insecure: Vec<String>,
    /// Print each request and response.
    pub trace_http: bool,
    /// Print the equivalent curl command before each request.
    pub curl: bool,
    /// How hard to retry 5xx, 429 and dropped connections.
    pub retry: RetryPolicy,
}

/// Sends exchanges; cheap to share between download threads.
#[derive(Debug)]
pub struct Transport {
    verified: ureq::Agent,
    unverified: ureq::Agent,
    insecure: Vec<String>,
    retry: RetryPolicy,
    pub(crate) tracer: Tracer,
}

// ANCHOR: agent
fn agent(verify_tls: bool) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(!verify_tls)
        .build();
    ureq::Agent::config_builder()
        // A 401 is an answer, not an error: its WWW-Authenticate is the next step.
        .http_status_as_error(false)
        // Redirects are followed by the client, so each hop is seen (and
        // Authorization is dropped when the host changes).
        .max_redirects(0)
        // Blobs are hashed as the registry sent them: ask for no content coding.
        .accept_encoding("")
        .user_agent(concat!("minibox-ch06/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(15)))
        // A stalled download is an error (and then a resumed download), not a hang.
        .timeout_per_read(Some(Duration::from_secs(30)))
        .tls_config(tls)
        .build()
        .new_agent()
}
// ANCHOR_END: agent

impl Transport {
    pub fn new(options: &TransportOptions, tracer: Tracer) -> Transport {
        let tracer = tracer.with(options.trace_http, options.curl);
        Transport {
            verified: agent(true),
            unverified: agent(false),
            insecure: options.insecure.iter().map(|r| r.to_lowercase()).collect(),
            retry: options.retry,
            tracer,
        }
    }

    /// True for a registry named with `--insecure`.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.iter().any(|r| r == &registry.to_lowercase())
    }

    /// Plain http is allowed for loopback always, and for `--insecure` registries.
    pub fn plain_http_allowed(&self, registry: &str) -> bool {
        is_loopback(registry) || self.is_insecure(registry)
    }

    /// Sends one exchange, tracing it; the body is still to be read.
    pub fn send(&self, exchange: &Exchange) -> Result<http::Response<ureq::Body>, ureq::Error> {
        self.tracer.request(exchange);
        let mut builder = http::Request::builder()
            .method(exchange.method.clone())
            .uri(&exchange.url);
        for (name, value) in &exchange.headers {
            builder = builder.header(*name, value);
        }
        let agent = if self.is_insecure(host_of(&exchange.url)) {
            &self.unverified
        } else {
            &self.verified
        };
        // GET and HEAD carry no body at all; POST, PATCH, PUT say Content-Length.
        let bodiless = matches!(exchange.method, Method::GET | Method::HEAD | Method::DELETE);
        let response = if bodiless && exchange.body.is_empty() {
            builder
                .body(())
                .map_err(ureq::Error::Http)
                .and_then(|request| agent.run(request))
        } else {
            builder
                .body(exchange.body)
                .map_err(ureq::Error::Http)
                .and_then(|request| agent.run(request))
        };
        match &response {
            Ok(response) => self.tracer.response(response),
            Err(error) => self.tracer.failure(error),
        }
        response
    }
}

impl Transport {
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    // ANCHOR: send_retrying_decide
    /// Sends what `build` makes, again after a 5xx, a 429 or a dropped
    /// connection, waiting as the policy says. The last response is returned
    /// even when it is still a 5xx or 429: the caller turns it into an error
    /// that says what happened.
    pub fn send_retrying<'a>(
        &self,
        mut build: impl FnMut() -> Exchange<'a>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let mut retrier = Retrier::new(self.retry);
        loop {
            let exchange = build();
            let (wait, what) = match self.send(&exchange) {
                Ok(response) if retryable_status(response.status().as_u16()) => {
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    match retrier.next_wait(retry_after) {
                        Some(wait) => (wait, format!("answered {}", response.status())),
                        None => return Ok(response),
                    }
                }
                Ok(response) => return Ok(response),
                Err(error) if retryable_error(&error) => match retrier.next_wait(None) {
                    Some(wait) => (wait, error.to_string()),
                    None => return Err(error),
                },
                Err(error) => return Err(error),
            };
            // ANCHOR_END: send_retrying_decide
            // ANCHOR: send_retrying_wait
            self.tracer.note(&format!(
                "{} {} {what}: try {} of {} in {:.1} s",
                exchange.method,
                exchange.url,
                retrier.tries(),
                self.retry.attempts,
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
        }
    }
    // ANCHOR_END: send_retrying_wait
}

/// A connection that broke or stalled is worth another try; one that was
/// refused (nothing listens), a TLS handshake that failed, or a name that
/// does not resolve is not.
pub fn retryable_error(error: &ureq::Error) -> bool {
    use std::io::ErrorKind::*;
    match error {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ConnectionReset
                | ConnectionAborted
                | BrokenPipe
                | UnexpectedEof
                | TimedOut
                | Interrupted
        ),
        ureq::Error::Timeout(_) | ureq::Error::Protocol(_) => true,
        _ => false,
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`, with or without a port.
pub fn is_loopback(registry: &str) -> bool {
    let host = strip_port(registry);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// `host` from `host:port`, `[::1]:5000` or `host`.
fn strip_port(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => registry,
    }
}

/// The `host[:port]` of a URL (`https://a.b:5000/x` → `a.b:5000`).
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// `scheme://host[:port]` of a URL: two URLs with the same origin are the same server.
pub fn origin_of(url: &str) -> String {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    format!(
        "{}://{}",
        scheme.to_lowercase(),
        host_of(url).to_lowercase()
    )
}

/// Resolves a `Location` header against the URL it answered.
pub fn resolve_location(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if location.starts_with("//") {
        let scheme = base.split_once("://").map_or("https", |(s, _)| s);
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin_of(base))
    } else {
        let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
        format!("{dir}/{location}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_the_only_automatic_plain_http() {
        for yes in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.8.9.1",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "registry-1.docker.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[::2]:5000",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn urls_and_locations() {
        assert_eq!(host_of("https://ghcr.io:443/v2/x?y"), "ghcr.io:443");
        assert_eq!(
            origin_of("HTTP://LocalHost:5000/v2/"),
            "http://localhost:5000"
        );
        let base = "http://127.0.0.1:5000/v2/x/blobs/uploads/";
        assert_eq!(
            resolve_location(base, "/v2/x/blobs/uploads/u?_state=s"),
            "http://127.0.0.1:5000/v2/x/blobs/uploads/u?_state=s"
        );
        assert_eq!(
            resolve_location(base, "https://cdn.example/b"),
            "https://cdn.example/b"
        );
        assert_eq!(resolve_location(base, "//cdn/b"), "http://cdn/b");
    }
}
