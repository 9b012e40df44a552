//! Where to pull from: mirrors first, then the registry itself.
//!
//! Docker Hub lets an anonymous client pull 10 images an hour per IPv4
//! address (100 per 6 hours before 2025); a workshop room behind one NAT
//! spends that in minutes. A pull-through mirror in the room fetches each
//! image once and serves everyone. Docker's `registry-mirrors` setting is
//! for Docker Hub only; containerd's `hosts.toml` allows mirrors for any
//! registry. We take both: `--registry-mirror URL` (Docker Hub) or
//! `--registry-mirror REGISTRY=URL`, and the same in a JSON file shaped like
//! docker's daemon.json.

use ch05_images::Reference;
use std::collections::BTreeMap;
use std::path::Path;

/// Docker Hub's name in references, and the host its API really lives on.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

// ANCHOR: registry_host
/// The host to talk to for a reference: `docker.io` is a name, not a
/// server — Docker Hub's registry API is at `registry-1.docker.io`.
pub fn registry_host(reference: &Reference) -> String {
    match reference.registry() {
        DOCKER_HUB | "index.docker.io" => DOCKER_HUB_API.to_string(),
        other => other.to_string(),
    }
}
// ANCHOR_END: registry_host

/// Mirror URLs per registry name (as references spell it: `docker.io`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    by_registry: BTreeMap<String, Vec<String>>,
}

/// The settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("reading {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: {detail}; expected {{\"registry-mirrors\": [\"http://mirror:5000\"], \"mirrors\": {{\"ghcr.io\": [\"…\"]}}, \"insecure-registries\": [\"host:port\"]}}")]
    Malformed { path: String, detail: String },
    #[error("mirror {0:?} is not a URL: write it as http://HOST:PORT or https://HOST")]
    BadUrl(String),
}

/// What the settings file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    pub mirrors: Mirrors,
    pub insecure: Vec<String>,
}

impl Mirrors {
    /// Adds a mirror from `--registry-mirror`: `URL` (Docker Hub) or `REGISTRY=URL`.
    pub fn add_flag(&mut self, value: &str) -> Result<(), MirrorError> {
        let (registry, url) = match value.split_once('=') {
            Some((registry, url)) => (registry.trim(), url.trim()),
            None => (DOCKER_HUB, value.trim()),
        };
        self.add(registry, url)
    }

    fn add(&mut self, registry: &str, url: &str) -> Result<(), MirrorError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 9 {
            return Err(MirrorError::BadUrl(url.to_string()));
        }
        let registry = match registry {
            "index.docker.io" | DOCKER_HUB_API => DOCKER_HUB,
            other => other,
        };
        self.by_registry
            .entry(registry.to_lowercase())
            .or_default()
            .push(url.trim_end_matches('/').to_string());
        Ok(())
    }

    /// The mirrors for a reference's registry, in the order to try them.
    pub fn for_reference(&self, reference: &Reference) -> &[String] {
        self.by_registry
            .get(reference.registry())
            .map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.by_registry.is_empty()
    }
}

// ANCHOR: settings
/// Reads a settings file shaped like docker's daemon.json (missing file: defaults).
pub fn load_settings(path: &Path) -> Result<RegistrySettings, MirrorError> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(RegistrySettings::default())
        }
        Err(cause) => return Err(MirrorError::Read { path: name, cause }),
    };
    let malformed = |detail: String| MirrorError::Malformed {
        path: name.clone(),
        detail,
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let strings = |value: &serde_json::Value, key: &str| -> Result<Vec<String>, MirrorError> {
        value
            .as_array()
            .ok_or_else(|| malformed(format!("{key} is not a list")))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| malformed(format!("{key} holds a non-string")))
            })
            .collect()
    };
    let mut settings = RegistrySettings::default();
    if let Some(list) = json.get("registry-mirrors") {
        for url in strings(list, "registry-mirrors")? {
            settings.mirrors.add(DOCKER_HUB, &url)?;
        }
    }
    if let Some(map) = json.get("mirrors") {
        let map = map
            .as_object()
            .ok_or_else(|| malformed("mirrors is not an object".into()))?;
        for (registry, list) in map {
            for url in strings(list, "mirrors")? {
                settings.mirrors.add(registry, &url)?;
            }
        }
    }
    if let Some(list) = json.get("insecure-registries") {
        settings.insecure = strings(list, "insecure-registries")?;
    }
    Ok(settings)
}
// ANCHOR_END: settings

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_files() {
        let mut mirrors = Mirrors::default();
        mirrors.add_flag("http://10.0.0.2:5000/").unwrap();
        mirrors
            .add_flag("127.0.0.1:5000=http://127.0.0.1:5001")
            .unwrap();
        assert!(mirrors.add_flag("10.0.0.2:5000").is_err());
        let busybox = Reference::parse("busybox").unwrap();
        assert_eq!(mirrors.for_reference(&busybox), ["http://10.0.0.2:5000"]);
        let local = Reference::parse("127.0.0.1:5000/x:y").unwrap();
        assert_eq!(mirrors.for_reference(&local), ["http://127.0.0.1:5001"]);
        assert_eq!(registry_host(&busybox), "registry-1.docker.io");
        assert_eq!(registry_host(&local), "127.0.0.1:5000");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("registries.json");
        std::fs::write(
            &file,
            r#"{"registry-mirrors":["http://m:5000"],"mirrors":{"ghcr.io":["https://g"]},"insecure-registries":["m:5000"],"debug":true}"#,
        )
        .unwrap();
        let settings = load_settings(&file).unwrap();
        assert_eq!(settings.mirrors.for_reference(&busybox), ["http://m:5000"]);
        assert_eq!(settings.insecure, ["m:5000"]);
        assert_eq!(
            load_settings(&dir.path().join("none")).unwrap(),
            RegistrySettings::default()
        );
        std::fs::write(&file, r#"{"registry-mirrors":"http://m"}"#).unwrap();
        assert!(load_settings(&file).is_err());
    }
}
