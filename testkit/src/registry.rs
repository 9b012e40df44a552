//! A real registry for tests: Debian's `docker-registry` (distribution 2.8)
//! on a free 127.0.0.1 port, with its storage and config in a temporary
//! directory, stopped (by PID) when dropped.
//!
//! ```no_run
//! let registry = minibox_testkit::registry::Registry::start(Default::default());
//! println!("{}", registry.address()); // 127.0.0.1:PORT
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the registry authenticates clients.
#[derive(Debug, Clone, Default)]
pub enum RegistryAuth {
    /// Anyone may pull and push.
    #[default]
    Open,
    /// `WWW-Authenticate: Basic`, users from an htpasswd file (bcrypt entries:
    /// make one with [`htpasswd`]).
    Htpasswd { file: PathBuf },
    /// Docker Hub's flow: `WWW-Authenticate: Bearer realm=…`; tokens signed
    /// by the key of `cert` (a PEM certificate, the trusted root).
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub auth: RegistryAuth,
    /// A pull-through cache of this upstream URL (`proxy: remoteurl:`).
    pub proxy_remote_url: Option<String>,
    /// Serve https with this (certificate, key) PEM pair.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// A running registry; stopped and its storage removed on drop.
#[derive(Debug)]
pub struct Registry {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// A port nobody listens on right now (the kernel's pick).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("finding a free port on 127.0.0.1: {e}"))
}

/// An htpasswd file with one bcrypt entry (`htpasswd -Bbn`, apache2-utils).
pub fn htpasswd(dir: &Path, user: &str, password: &str) -> PathBuf {
    let out = crate::run(Command::new("htpasswd").args(["-Bbn", user, password]));
    assert!(out.status.success(), "htpasswd -Bbn failed: {out:?}");
    let file = dir.join("htpasswd");
    std::fs::write(&file, &out.stdout).unwrap_or_else(|e| panic!("writing {file:?}: {e}"));
    file
}

impl Registry {
    /// Starts one (panics with the registry's log if it does not come up).
    pub fn start(options: RegistryOptions) -> Registry {
        let mut last_log = String::new();
        // The port could be taken between our check and the registry's bind: try again.
        for _ in 0..3 {
            match Registry::try_start(&options) {
                Ok(registry) => return registry,
                Err(log) => last_log = log,
            }
        }
        panic!("docker-registry did not start:\n{last_log}");
    }

    fn try_start(options: &RegistryOptions) -> Result<Registry, String> {
        let dir = tempfile::Builder::new()
            .prefix("minibox-test-registry-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let port = free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(&config, config_yaml(dir.path(), port, options))
            .map_err(|e| format!("writing {config:?}: {e}"))?;
        let log_path = dir.path().join("registry.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| {
                format!("starting docker-registry (apt-get install docker-registry): {e}")
            })?;
        let mut registry = Registry { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = registry.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("exited with {status}:\n{log}"));
            }
            if answers_http(port) {
                return Ok(registry);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::fs::read_to_string(&log_path).unwrap_or_default())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, as a reference's registry part.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    /// Where the registry keeps its blobs and repositories.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(self.child.id() as i32);
        // Our child, by PID: SIGTERM, then SIGKILL if it lingers.
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// True once something on the port answers an HTTP request with a status line.
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request =
        format!("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

fn config_yaml(dir: &Path, port: u16, options: &RegistryOptions) -> String {
    let storage = dir.join("storage");
    let mut yaml = format!(
        "version: 0.1\n\
         log:\n  level: info\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: minibox-test-secret\n",
        storage.display()
    );
    if let Some((cert, key)) = &options.tls {
        yaml += &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        );
    }
    match &options.auth {
        RegistryAuth::Open => {}
        RegistryAuth::Htpasswd { file } => {
            yaml += &format!(
                "auth:\n  htpasswd:\n    realm: minibox-test\n    path: {}\n",
                file.display()
            );
        }
        RegistryAuth::Token {
            realm,
            service,
            issuer,
            cert,
        } => {
            yaml += &format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            );
        }
    }
    if let Some(remote) = &options.proxy_remote_url {
        yaml += &format!("proxy:\n  remoteurl: {remote}\n");
    }
    yaml
}
