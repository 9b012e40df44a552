//! Image references: `busybox`, `alpine:3.20`, `localhost:5000/x/y:tag`,
//! `ghcr.io/org/img@sha256:…` — parsed and normalised the way docker does.
//!
//! A reference names an image in three parts: the registry that serves it,
//! the repository inside that registry, and either a tag (a movable name,
//! `latest` by default) or a digest (an immutable one), or both. Short
//! names are Docker Hub's: `busybox` is `docker.io/library/busybox:latest`.
//! The store keys its refs by the normalised form, so `busybox` and
//! `docker.io/library/busybox:latest` are the same image.

use crate::digest::Digest;

/// The registry a name without one belongs to (docker's default).
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The tag a name without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed, normalised image reference.
///
/// `Display` prints the full form: `docker.io/library/busybox:latest`,
/// `ghcr.io/o/i@sha256:…`, `localhost:5000/x:y@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not an image reference; the message lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an image reference: {problem}; accepted forms: NAME, NAME:TAG, NAME@sha256:HEX, NAME:TAG@sha256:HEX, where NAME is [REGISTRY[:PORT]/]PATH in lowercase (e.g. busybox, alpine:3.20, localhost:5000/team/app:v1, ghcr.io/org/img@sha256:…)")]
pub struct ReferenceError {
    pub input: String,
    pub problem: String,
}

impl Reference {
    // ANCHOR: parse_split
    /// Parses and normalises `text`.
    ///
    /// The first path component is a registry if it looks like a host name:
    /// it has a `.` or a `:` (a port), or is `localhost`. Otherwise the whole
    /// name is a Docker Hub repository, and one-word names are Docker Hub's
    /// official images under `library/`.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let fail = |problem: &str| ReferenceError {
            input: text.to_string(),
            problem: problem.to_string(),
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let digest = Digest::parse(digest).map_err(|e| fail(&e.to_string()))?;
                (rest, Some(digest))
            }
            None => (text, None),
        };
        // A tag is after the last ':' that comes after the last '/'
        // (`localhost:5000/x` has a port, not a tag).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        // ANCHOR_END: parse_split
        // ANCHOR: parse_registry
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if looks_like_registry(first) => {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        // Docker Hub's other spellings, and its official images' namespace.
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_string(),
            _ => registry,
        };
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        // ANCHOR_END: parse_registry
        check_registry(&registry).map_err(|p| fail(&p))?;
        check_repository(&repository).map_err(|p| fail(&p))?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(|p| fail(&p))?;
        }
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry host (and port): `docker.io`, `localhost:5000`, `ghcr.io`.
    /// Docker Hub is `docker.io`; its API lives at `registry-1.docker.io`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository inside the registry: `library/busybox`, `team/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What the registry's manifest endpoint is asked for: the digest if
    /// there is one (it is exact), else the tag.
    pub fn manifest_key(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The same name with another digest (and the tag kept).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same name with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        check_tag(tag).map_err(|problem| ReferenceError {
            input: tag.to_string(),
            problem,
        })?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The short form `docker images` shows: `busybox:latest`,
    /// `localhost:5000/x:y` (the Docker Hub prefixes dropped).
    pub fn familiar(&self) -> String {
        let name = if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        };
        let mut text = name;
        if let Some(tag) = &self.tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            text.push('@');
            text.push_str(&digest.to_string());
        }
        text
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

fn looks_like_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// `host[:port]`: letters, digits, `-` and `.` in the host; digits in the port.
fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !host_ok {
        return Err(format!("registry {registry:?} is not a host name"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!("registry port {port:?} is not a number"));
        }
    }
    Ok(())
}

/// Path components of lowercase letters and digits, joined by `.`, `_`, `__` or `-`.
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("the name is empty".into());
    }
    if repository.len() > 255 {
        return Err("the name is longer than 255 characters".into());
    }
    for component in repository.split('/') {
        let starts_and_ends_alphanumeric = |s: &str| {
            let alnum =
                |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            alnum(s.bytes().next()) && alnum(s.bytes().last())
        };
        let allowed = component.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
        if !allowed {
            return Err(format!(
                "path component {component:?} may hold only lowercase letters, digits, '.', '_' and '-'"
            ));
        }
        if !starts_and_ends_alphanumeric(component)
            || component.contains("..")
            || component.contains("___")
        {
            return Err(format!(
                "path component {component:?} must start and end with a letter or digit, with single separators between"
            ));
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !first_ok || !rest_ok || tag.len() > 128 {
        return Err(format!(
            "tag {tag:?} must be 1–128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        let hex = "a".repeat(64);
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(full("team/app"), "docker.io/team/app:latest");
        assert_eq!(
            full("index.docker.io/library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        assert_eq!(full("localhost:5000/x:y"), "localhost:5000/x:y");
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert_eq!(full("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(
            full(&format!("ghcr.io/o/i@sha256:{hex}")),
            format!("ghcr.io/o/i@sha256:{hex}")
        );
        assert_eq!(
            full(&format!("name:tag@sha256:{hex}")),
            format!("docker.io/library/name:tag@sha256:{hex}")
        );
        let r = Reference::parse("localhost:5000/team/app:v1").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.familiar(), "localhost:5000/team/app:v1");
        assert_eq!(
            Reference::parse("busybox").unwrap().familiar(),
            "busybox:latest"
        );
        // Display and parse round-trip.
        for text in ["busybox", "localhost:5000/x:y", "a.b/c/d:e"] {
            let once = full(text);
            assert_eq!(full(&once), once);
        }
    }

    #[test]
    fn refuses_what_is_not_a_reference_and_says_what_is() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a//b",
            "-a",
            "a..b",
            "busybox@sha256:abc",
            "busybox@md5:abc",
            "localhost:xx/a",
            "bad host/a",
        ] {
            let err = Reference::parse(bad).unwrap_err();
            assert!(err.to_string().contains("accepted forms"), "{bad:?}: {err}");
        }
    }
}
