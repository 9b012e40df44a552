//! Authentication: from a 401's challenge to an `Authorization` header.
//!
//! The dance, as Docker Hub does it:
//!
//! 1. `GET /v2/` → `401`, `WWW-Authenticate: Bearer realm=…,service=…`
//! 2. `GET realm?service=…&scope=repository:library/busybox:pull` (with our
//!    user and password as Basic, if we have them) → `{"token": "…"}`
//! 3. Every request to the registry: `Authorization: Bearer TOKEN`.
//!
//! A token is good for one scope (a repository and actions) until it
//! expires; we keep it per registry and scope for that long. A registry
//! that says `Basic` instead simply wants the credentials on every request.

use crate::challenge::Challenge;
use crate::credentials::{self, Credentials};
use crate::error::RegistryError;
use crate::transport::{Exchange, Transport};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ureq::http::Method;

/// The most a token response may weigh.
const TOKEN_CAP: u64 = 1 << 20;

/// `repository:NAME:pull` (or `pull,push`): what a token grants.
pub fn repository_scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires: Instant,
}

/// Challenges, credentials and tokens, per registry; shared by threads.
#[derive(Debug, Default)]
pub struct Auth {
    /// Where `login` keeps credentials (docker's config.json); None: nowhere.
    config_path: Option<PathBuf>,
    /// Credentials given for this run (flags, environment), by registry.
    given: Mutex<HashMap<String, Credentials>>,
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<(String, String), Token>>,
}

/// Locks a mutex even if another thread panicked while holding it (the maps
/// hold only caches, which stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Auth {
    /// `config_path`: the docker config file to read logins from.
    pub fn new(config_path: Option<PathBuf>) -> Auth {
        Auth {
            config_path,
            ..Auth::default()
        }
    }

    /// Uses `credentials` for `registry` in this run (before any stored login).
    pub fn set_credentials(&self, registry: &str, credentials: Credentials) {
        lock(&self.given).insert(registry.to_string(), credentials);
    }

    /// The credentials for `registry`: given for this run, else from `login`.
    pub fn credentials(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        if let Some(given) = lock(&self.given).get(registry) {
            return Ok(Some(given.clone()));
        }
        match &self.config_path {
            Some(path) => Ok(credentials::load(path, registry)?),
            None => Ok(None),
        }
    }

    /// Remembers how `registry` wants to be authenticated (from a 401).
    pub fn learn(&self, registry: &str, www_authenticate: &str) -> Result<(), RegistryError> {
        let challenge = Challenge::parse(www_authenticate)?;
        lock(&self.challenges).insert(registry.to_string(), challenge);
        Ok(())
    }

    /// The challenge learnt for `registry`, if any.
    pub fn challenge(&self, registry: &str) -> Option<Challenge> {
        lock(&self.challenges).get(registry).cloned()
    }

    /// Drops a cached token that the registry no longer accepts.
    pub fn forget_token(&self, registry: &str, scopes: &[String]) {
        lock(&self.tokens).remove(&(registry.to_string(), scopes.join(" ")));
    }

    // ANCHOR: header
    /// The `Authorization` value for a request to `registry` needing `scopes`,
    /// or None while the registry has not asked for any (no 401 yet).
    pub fn header(
        &self,
        transport: &Transport,
        registry: &str,
        scopes: &[String],
    ) -> Result<Option<String>, RegistryError> {
        match self.challenge(registry) {
            None => Ok(None),
            Some(Challenge::Basic { .. }) => {
                Ok(self.credentials(registry)?.map(|c| c.basic_header()))
            }
            Some(Challenge::Bearer { realm, service, .. }) => {
                let key = (registry.to_string(), scopes.join(" "));
                if let Some(token) = lock(&self.tokens).get(&key) {
                    if token.expires > Instant::now() {
                        return Ok(Some(format!("Bearer {}", token.value)));
                    }
                }
                let token =
                    self.fetch_token(transport, registry, &realm, service.as_deref(), scopes)?;
                let header = format!("Bearer {}", token.value);
                lock(&self.tokens).insert(key, token);
                Ok(Some(header))
            }
        }
    }
    // ANCHOR_END: header

    /// `GET realm?service=…&scope=…`, with Basic credentials if we have some.
    fn fetch_token(
        &self,
        transport: &Transport,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Token, RegistryError> {
        // ANCHOR: token_request
        let plain_http = realm.to_ascii_lowercase().starts_with("http://");
        let secure = realm.to_ascii_lowercase().starts_with("https://");
        if !(secure || plain_http && transport.plain_http_allowed(registry)) {
            return Err(RegistryError::InsecureRealm {
                registry: registry.to_string(),
                realm: realm.to_string(),
            });
        }
        let credentials = self.credentials(registry)?;
        let mut query = Vec::new();
        if let Some(service) = service {
            query.push(format!("service={}", percent_encode(service)));
        }
        query.extend(
            scopes
                .iter()
                .map(|s| format!("scope={}", percent_encode(s))),
        );
        if let Some(c) = &credentials {
            query.push(format!("account={}", percent_encode(&c.username)));
        }
        let separator = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{separator}{}", query.join("&"));
        let mut response = transport
            .send_retrying(|| {
                let mut exchange = Exchange::new(Method::GET, &url);
                if let Some(c) = &credentials {
                    exchange = exchange.header("Authorization", c.basic_header());
                }
                exchange.curl_output = Some("$TOKEN".into());
                exchange
            })
            .map_err(|source| RegistryError::Connection {
                method: "GET".into(),
                host: crate::transport::host_of(&url).to_string(),
                url: url.clone(),
                cause: Box::new(source),
            })?;
        // ANCHOR_END: token_request
        let status = response.status().as_u16();
        if status != 200 {
            return Err(RegistryError::TokenRefused {
                realm: realm.to_string(),
                status,
                with_credentials: credentials.is_some(),
            });
        }
        let malformed = |detail: String| RegistryError::TokenMalformed {
            realm: realm.to_string(),
            detail,
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(TOKEN_CAP)
            .read_to_vec()
            .map_err(|e| malformed(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
        // ANCHOR: token_response
        // Docker's token spec says `token`; OAuth2 says `access_token`; servers send either or both.
        let value = json
            .get("token")
            .or_else(|| json.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| malformed("no \"token\" field".into()))?;
        // The spec: no expires_in means 60 s, and less than 60 s is treated as 60.
        let lifetime = json
            .get("expires_in")
            .and_then(|e| e.as_u64())
            .unwrap_or(60)
            .max(60);
        // Use it a little less long than granted, so it does not expire in flight.
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(10));
        Ok(Token {
            value: value.to_string(),
            expires,
        })
        // ANCHOR_END: token_response
    }
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_encoding() {
        assert_eq!(
            repository_scope("library/busybox", "pull"),
            "repository:library/busybox:pull"
        );
        assert_eq!(
            percent_encode("repository:library/busybox:pull,push"),
            "repository%3Alibrary%2Fbusybox%3Apull%2Cpush"
        );
    }

    #[test]
    fn a_plain_http_realm_is_refused_for_a_remote_registry() {
        let transport = Transport::new(&Default::default(), Default::default());
        let auth = Auth::new(None);
        auth.learn(
            "registry.example",
            r#"Bearer realm="http://auth.example/token""#,
        )
        .unwrap();
        let error = auth
            .header(
                &transport,
                "registry.example",
                &["repository:x:pull".into()],
            )
            .unwrap_err();
        assert!(
            matches!(error, RegistryError::InsecureRealm { .. }),
            "{error}"
        );
    }
}
