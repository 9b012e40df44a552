//! `login` and `logout`: credentials checked with the registry, then kept
//! where docker keeps them.

use anyhow::{bail, Context};
use ch01_chroot::Narrator;
use ch06_registry::client::Client;
use ch06_registry::credentials::{self, Credentials, PASSWORD_VAR};
use ch06_registry::mirror::DOCKER_HUB_API;
use ch06_registry::transport::Exchange;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use ureq::http::Method;

/// Credentials given for this run: `--username` with `--password-stdin` (or
/// the password in MINIBOX_REGISTRY_PASSWORD), or both variables.
pub fn given(flags: &crate::LoginFlags) -> anyhow::Result<Option<Credentials>> {
    match (&flags.username, flags.password_stdin) {
        (Some(username), true) => Ok(Some(Credentials {
            username: username.clone(),
            password: read_stdin_password()?,
        })),
        (Some(username), false) => match std::env::var(PASSWORD_VAR) {
            Ok(password) => Ok(Some(Credentials {
                username: username.clone(),
                password,
            })),
            Err(_) => bail!("--username needs the password too: pipe it to --password-stdin (or set {PASSWORD_VAR})"),
        },
        (None, true) => bail!("--password-stdin needs --username"),
        (None, false) => Ok(credentials::from_environment()),
    }
}

fn read_stdin_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("standard input gave an empty password");
    }
    Ok(password)
}

/// Asks on the terminal, the password without echo (termios ECHO off).
fn prompt() -> anyhow::Result<Credentials> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("no terminal to ask for credentials: pass --username and --password-stdin");
    }
    let ask = |question: &str| -> anyhow::Result<String> {
        let _ = write!(std::io::stderr(), "{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the terminal")?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    };
    let username = ask("Username: ")?;
    let saved = tcgetattr(&stdin).context("tcgetattr on the terminal")?;
    let mut silent = saved.clone();
    silent.local_flags.remove(LocalFlags::ECHO);
    // The password must not be shown as it is typed.
    tcsetattr(&stdin, SetArg::TCSANOW, &silent).context("tcsetattr (echo off)")?;
    let password = ask("Password: ");
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    let _ = writeln!(std::io::stderr());
    Ok(Credentials {
        username,
        password: password?,
    })
}

/// The host to talk to for a registry name a user types.
fn host(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" => DOCKER_HUB_API.to_string(),
        other => other.to_string(),
    }
}

pub fn login(
    client: &Client,
    registry: &str,
    flags: &crate::LoginFlags,
    config: Option<PathBuf>,
    narrator: &Narrator,
) -> anyhow::Result<i32> {
    let config = config.context("no place for credentials: set DOCKER_CONFIG or HOME")?;
    let credentials = match given(flags)? {
        Some(c) => c,
        None => prompt()?,
    };
    let host = host(registry);
    client.auth.set_credentials(&host, credentials.clone());
    let endpoint = client.ping(&host)?;
    match client.auth.challenge(&host) {
        None => narrator.warn(&format!(
            "{host} asks for no credentials; saving them anyway"
        )),
        Some(challenge) => narrator.step(&format!("{host} challenges with {challenge:?}")),
    }
    // GET /v2/ with the credentials (or a token they bought): 200 means they work.
    let url = endpoint.url("");
    let (response, _) = client.call(&endpoint, &[], &url, |u| Exchange::new(Method::GET, u))?;
    if response.status().as_u16() != 200 {
        bail!("{url} answered {} to our credentials", response.status());
    }
    credentials::store(&config, registry, &credentials)?;
    narrator.observe(&format!(
        "saved in {} (base64, not encrypted: the file is mode 0600)",
        config.display()
    ));
    let _ = writeln!(std::io::stderr(), "Login Succeeded");
    Ok(0)
}

pub fn logout(registry: &str, config: Option<PathBuf>, narrator: &Narrator) -> anyhow::Result<i32> {
    let config = config.context("no credentials file: set DOCKER_CONFIG or HOME")?;
    if credentials::erase(&config, registry)? {
        narrator.step(&format!("removed {registry} from {}", config.display()));
        let _ = writeln!(
            std::io::stderr(),
            "Removing login credentials for {registry}"
        );
    } else {
        narrator.warn(&format!(
            "not logged in to {registry} (in {})",
            config.display()
        ));
    }
    Ok(0)
}
