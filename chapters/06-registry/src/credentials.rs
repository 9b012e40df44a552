//! Credentials: where a user and password come from, and where `login` keeps them.
//!
//! `login` writes them where docker does — `auths` in `~/.docker/config.json`
//! (or `$DOCKER_CONFIG/config.json`), as base64 of `user:password` — so
//! `docker login` and `ch06-registry login` share one file. That encoding is
//! not encryption: the file is written mode 0600, and docker's credential
//! helpers (`credsStore`) exist for this reason.

use base64::Engine as _;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A user and password (or access token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <password redacted>)", self.username)
    }
}

impl Credentials {
    /// `Authorization: Basic …` for these credentials.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// Reading or writing the credentials file failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("reading {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a docker config file ({detail}): fix or move it")]
    Malformed { path: PathBuf, detail: String },
    #[error("writing {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("no home directory to keep credentials in: set DOCKER_CONFIG or HOME")]
    NoHome,
}

/// The environment variables a script can set instead of logging in.
pub const USER_VAR: &str = "MINIBOX_REGISTRY_USER";
pub const PASSWORD_VAR: &str = "MINIBOX_REGISTRY_PASSWORD";

/// `MINIBOX_REGISTRY_USER` and `MINIBOX_REGISTRY_PASSWORD`, when both are set.
pub fn from_environment() -> Option<Credentials> {
    let username = std::env::var(USER_VAR).ok().filter(|u| !u.is_empty())?;
    let password = std::env::var(PASSWORD_VAR).ok()?;
    Some(Credentials { username, password })
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn config_path() -> Result<PathBuf, CredentialsError> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(CredentialsError::NoHome)?;
    Ok(PathBuf::from(home).join(".docker").join("config.json"))
}

// ANCHOR: key
/// The `auths` key docker uses for a registry: Docker Hub is still filed
/// under its v1 index URL; others under `host[:port]`.
pub fn auths_key(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_string()
        }
        other => other.to_string(),
    }
}
// ANCHOR_END: key

/// Keys other tools may have written for the same registry.
fn key_variants(registry: &str) -> Vec<String> {
    let key = auths_key(registry);
    vec![
        key.clone(),
        format!("https://{key}"),
        format!("http://{key}"),
        format!("https://{key}/v1/"),
        format!("https://{key}/v2/"),
    ]
}

fn read_config(path: &Path) -> Result<Map<String, Value>, CredentialsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(cause) => {
            return Err(CredentialsError::Read {
                path: path.to_path_buf(),
                cause,
            })
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CredentialsError::Malformed {
            path: path.to_path_buf(),
            detail: "not a JSON object".into(),
        }),
        Err(e) => Err(CredentialsError::Malformed {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// The stored credentials for `registry`, if `login` (or docker) saved some.
pub fn load(path: &Path, registry: &str) -> Result<Option<Credentials>, CredentialsError> {
    let config = read_config(path)?;
    let Some(Value::Object(auths)) = config.get("auths") else {
        return Ok(None);
    };
    for key in key_variants(registry) {
        let Some(encoded) = auths
            .get(&key)
            .and_then(|e| e.get("auth"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let malformed = || CredentialsError::Malformed {
            path: path.to_path_buf(),
            detail: format!("auths.{key}.auth is not base64 of user:password"),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
        return Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }));
    }
    Ok(None)
}

/// Saves `credentials` for `registry`, keeping everything else in the file.
pub fn store(
    path: &Path,
    registry: &str,
    credentials: &Credentials,
) -> Result<(), CredentialsError> {
    let mut config = read_config(path)?;
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let pair = format!("{}:{}", credentials.username, credentials.password);
    let entry =
        serde_json::json!({ "auth": base64::engine::general_purpose::STANDARD.encode(pair) });
    if let Value::Object(auths) = auths {
        auths.insert(auths_key(registry), entry);
    }
    write_config(path, &config)
}

/// Forgets `registry`'s credentials; false if there were none.
pub fn erase(path: &Path, registry: &str) -> Result<bool, CredentialsError> {
    let mut config = read_config(path)?;
    let mut removed = false;
    if let Some(Value::Object(auths)) = config.get_mut("auths") {
        for key in key_variants(registry) {
            removed |= auths.remove(&key).is_some();
        }
    }
    if removed {
        write_config(path, &config)?;
    }
    Ok(removed)
}

/// Writes the file atomically (a temp file renamed over it), mode 0600.
fn write_config(path: &Path, config: &Map<String, Value>) -> Result<(), CredentialsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |cause| CredentialsError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let temp = dir.join(format!(".config.json.{}", std::process::id()));
    let text = serde_json::to_string_pretty(config).map_err(|e| fail(e.into()))?;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_logout_round_trip_keeps_other_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"ghcr.io":{"auth":"YTpi"}},"credsStore":"desktop"}"#,
        )
        .unwrap();
        let alice = Credentials {
            username: "alice".into(),
            password: "p:ss".into(),
        };
        store(&path, "docker.io", &alice).unwrap();
        assert_eq!(load(&path, "registry-1.docker.io").unwrap(), Some(alice));
        let ghcr = load(&path, "ghcr.io").unwrap().unwrap();
        assert_eq!((ghcr.username.as_str(), ghcr.password.as_str()), ("a", "b"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("https://index.docker.io/v1/") && text.contains("credsStore"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(erase(&path, "docker.io").unwrap());
        assert!(!erase(&path, "docker.io").unwrap());
        assert_eq!(load(&path, "docker.io").unwrap(), None);
    }
}
