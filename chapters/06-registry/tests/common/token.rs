//! A token server like auth.docker.io, small: `GET /token?service=…&scope=…`
//! answers an RS256-signed JWT that the registry verifies against our
//! self-signed certificate (sent in the JWT header as `x5c`). Anonymous
//! clients get `pull`; the one user with the right password gets all it asks.

use super::http::{read_message, response};
use base64::Engine as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const SERVICE: &str = "minibox-test-registry";
pub const ISSUER: &str = "minibox-test-token-issuer";

/// A token request as the server saw it.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub scopes: Vec<String>,
    pub user: Option<String>,
}

#[derive(Debug)]
pub struct TokenServer {
    port: u16,
    pub cert: PathBuf,
    stop: Arc<AtomicBool>,
    pub requests: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenServer {
    /// Makes a key and certificate in `dir` (openssl) and starts serving.
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        let key = dir.join("token-key.pem");
        let cert = dir.join("token-cert.pem");
        let out = minibox_testkit::run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=minibox-test-token-issuer",
                    "-keyout",
                ])
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        assert!(out.status.success(), "openssl req: {out:?}");
        // x5c is the certificate's DER in standard base64: the PEM body, joined.
        let pem = std::fs::read_to_string(&cert).unwrap();
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let (user, password) = (user.to_string(), password.to_string());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, &key, &der_b64, &user, &password, &requests2);
            }
        });
        TokenServer {
            port,
            cert,
            stop,
            requests,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok());
        match (first, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                rest = &tail[2..];
            }
            _ => {
                out.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(
    mut stream: TcpStream,
    key: &Path,
    x5c: &str,
    user: &str,
    password: &str,
    requests: &Mutex<Vec<TokenRequest>>,
) {
    let Ok(request) = read_message(&mut stream, false, false) else {
        return;
    };
    let (_, target) = request.method_and_target();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut scopes = Vec::new();
    for pair in query.split('&') {
        if let Some(("scope", value)) = pair.split_once('=') {
            scopes.push(percent_decode(value));
        }
    }
    // Basic credentials, if any: wrong ones are a 401 (as auth.docker.io does).
    let mut who = None;
    if let Some(basic) = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .unwrap_or_default();
        if decoded != format!("{user}:{password}") {
            let _ = response(
                401,
                "Unauthorized",
                &[],
                br#"{"details":"incorrect username or password"}"#,
            )
            .write_to(&mut stream);
            return;
        }
        who = Some(user.to_string());
    }
    requests.lock().unwrap().push(TokenRequest {
        scopes: scopes.clone(),
        user: who.clone(),
    });
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let actions: Vec<&str> = actions
                .split(',')
                .filter(|a| who.is_some() || *a == "pull")
                .collect();
            Some(serde_json::json!({ "type": kind, "name": name, "actions": actions }))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "x5c": [x5c] });
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": who.clone().unwrap_or_default(), "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(signing_input.as_bytes()).unwrap();
    }
    let signature = child.wait_with_output().unwrap().stdout;
    let token = format!("{signing_input}.{}", b64url(&signature));
    let body = serde_json::json!({ "token": token, "access_token": token, "expires_in": 300 });
    let _ = response(
        200,
        "OK",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .write_to(&mut stream);
}
