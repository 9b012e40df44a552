//! The client: a request to a registry, authenticated, retried and redirected.
//!
//! Every operation of the distribution API — manifests, blobs, tags,
//! uploads — goes through [`Client::call`]: it adds the `Authorization` the
//! registry asked for, answers a 401 by learning the challenge and trying
//! once more, follows redirects (dropping `Authorization` when the host
//! changes: blob downloads are sent to CDNs), and retries what is worth it.

use crate::auth::Auth;
use crate::error::RegistryError;
use crate::trace::Tracer;
use crate::transport::{
    host_of, origin_of, resolve_location, Exchange, Transport, TransportOptions,
};
use std::path::PathBuf;
use ureq::http::{self, Method};

/// A registry as we talk to it: the name its credentials and tokens are
/// kept under, and the base URL (`https://ghcr.io`, `http://127.0.0.1:5000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub registry: String,
    pub base: String,
}

impl Endpoint {
    /// An endpoint from a URL given by the user (a mirror): its scheme is
    /// taken as given — naming `http://` is the permission for plain http.
    pub fn from_url(url: &str) -> Endpoint {
        let url = url.trim_end_matches('/');
        let base = if url.contains("://") {
            origin_of(url)
        } else {
            format!("https://{}", url.to_lowercase())
        };
        Endpoint {
            registry: host_of(&base).to_string(),
            base,
        }
    }

    /// `BASE/v2/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{path}", self.base)
    }
}

/// A repository at an endpoint, with the token scopes its requests need
/// (`repository:NAME:pull`, or `pull,push` and a mount source's `pull`).
#[derive(Debug, Clone)]
pub struct Remote<'e> {
    pub endpoint: &'e Endpoint,
    pub repository: String,
    pub scopes: Vec<String>,
}

impl<'e> Remote<'e> {
    /// For pulling `repository` from `endpoint`.
    pub fn pull(endpoint: &'e Endpoint, repository: &str) -> Remote<'e> {
        Remote {
            endpoint,
            repository: repository.to_string(),
            scopes: vec![crate::auth::repository_scope(repository, "pull")],
        }
    }

    /// For pushing to `repository` (and mounting blobs from `mount_from`).
    pub fn push(endpoint: &'e Endpoint, repository: &str, mount_from: Option<&str>) -> Remote<'e> {
        let mut scopes = vec![crate::auth::repository_scope(repository, "pull,push")];
        scopes.extend(mount_from.map(|from| crate::auth::repository_scope(from, "pull")));
        Remote {
            endpoint,
            repository: repository.to_string(),
            scopes,
        }
    }

    /// `BASE/v2/NAME/PATH`.
    pub fn url(&self, path: &str) -> String {
        self.endpoint.url(&format!("{}/{path}", self.repository))
    }

    /// The repository as a user names it: `library/busybox` on Docker Hub,
    /// `localhost:5000/team/app` elsewhere.
    pub fn name(&self) -> String {
        if self.endpoint.registry == crate::mirror::DOCKER_HUB_API {
            self.repository.clone()
        } else {
            format!("{}/{}", self.endpoint.registry, self.repository)
        }
    }
}

/// What a request is about, for the error a failure becomes.
#[derive(Debug, Clone)]
pub struct Subject<'s> {
    /// "manifest busybox:latest", "blob sha256:…"
    pub what: &'s str,
    /// As the user names it (see [`Remote::name`]).
    pub repository: String,
    /// "pull" or "push": what a 403 forbade.
    pub action: &'s str,
}

/// Everything a registry operation needs; shared by download threads.
#[derive(Debug)]
pub struct Client {
    pub transport: Transport,
    pub auth: Auth,
}

/// A response whose body is still to be read.
pub type Response = http::Response<ureq::Body>;

impl Client {
    /// A client; `docker_config`: where logins are read from.
    pub fn new(
        options: &TransportOptions,
        tracer: Tracer,
        docker_config: Option<PathBuf>,
    ) -> Client {
        Client {
            transport: Transport::new(options, tracer),
            auth: Auth::new(docker_config),
        }
    }

    /// `GET /v2/`: is this a registry, which scheme works, and how does it
    /// want us to authenticate (a 401's `WWW-Authenticate`)?
    pub fn ping(&self, registry: &str) -> Result<Endpoint, RegistryError> {
        let endpoint = |scheme: &str| Endpoint {
            registry: registry.to_string(),
            base: format!("{scheme}://{registry}"),
        };
        // `--insecure`: https without verifying the certificate, else plain http.
        if self.transport.is_insecure(registry) {
            let https = endpoint("https");
            match self.ping_endpoint(&https) {
                Err(RegistryError::Connection { .. }) => {}
                other => return other.map(|()| https),
            }
            let http = endpoint("http");
            return self.ping_endpoint(&http).map(|()| http);
        }
        // Loopback speaks plain http; everything else verified https only.
        let scheme = if crate::transport::is_loopback(registry) {
            "http"
        } else {
            "https"
        };
        let only = endpoint(scheme);
        self.ping_endpoint(&only).map(|()| only)
    }

    // ANCHOR: ping
    /// The ping for a known endpoint (a mirror's URL).
    pub fn ping_endpoint(&self, endpoint: &Endpoint) -> Result<(), RegistryError> {
        let url = endpoint.url("");
        let response = self
            .transport
            .send_retrying(|| Exchange::new(Method::GET, &url))
            .map_err(|source| connection_error("GET", &url, source))?;
        match response.status().as_u16() {
            200 => Ok(()),
            401 => match header(&response, "www-authenticate") {
                Some(challenge) => self.auth.learn(&endpoint.registry, challenge),
                None => Ok(()),
            },
            // Go's TLS servers answer plain http with a 400.
            400 if url.starts_with("http://") => Err(RegistryError::Status {
                method: "GET".into(),
                url,
                status: 400,
                detail: ": is it an https registry? One with a self-signed certificate \
                         needs --insecure REGISTRY"
                    .into(),
            }),
            status => Err(RegistryError::Status {
                method: "GET".into(),
                url,
                status,
                detail: ": not a registry speaking the v2 API here?".into(),
            }),
        }
    }
    // ANCHOR_END: ping

    /// Sends what `build` makes for `url` with the `Authorization` the
    /// registry wants for `scopes`; a 401 teaches us the challenge and is
    /// answered once; redirects of GET and HEAD are followed.
    pub fn call<'a>(
        &self,
        endpoint: &Endpoint,
        scopes: &[String],
        url: &str,
        build: impl Fn(&str) -> Exchange<'a>,
    ) -> Result<(Response, String), RegistryError> {
        let registry = &endpoint.registry;
        let method = build(url).method;
        let mut authorization = self.auth.header(&self.transport, registry, scopes)?;
        let mut answered_401 = false;
        let mut url = url.to_string();
        let mut redirects = 0;
        loop {
            // ANCHOR: call
            // Authorization is for the registry: never for another host.
            let same_origin = origin_of(&url) == origin_of(&endpoint.base);
            let credential = authorization.as_ref().filter(|_| same_origin);
            let response = self
                .transport
                .send_retrying(|| match credential {
                    Some(value) => build(&url).header("Authorization", value.clone()),
                    None => build(&url),
                })
                .map_err(|source| connection_error(method.as_str(), &url, source))?;
            let status = response.status().as_u16();
            if status == 401 && same_origin {
                if answered_401 {
                    return Err(self.unauthorized(registry, url)?);
                }
                // Learn the challenge, then ask once more with what it wants.
                answered_401 = true;
                if let Some(challenge) = header(&response, "www-authenticate") {
                    self.auth.learn(registry, challenge)?;
                }
                self.auth.forget_token(registry, scopes);
                authorization = self.auth.header(&self.transport, registry, scopes)?;
                if authorization.is_none() {
                    return Err(self.unauthorized(registry, url)?);
                }
                continue;
            }
            // ANCHOR_END: call
            // ANCHOR: redirect
            let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
            let follow = redirect && matches!(method, Method::GET | Method::HEAD) && redirects < 5;
            let location = header(&response, "location").filter(|_| follow);
            match location.map(|l| resolve_location(&url, l)) {
                Some(next) => {
                    url = next;
                    redirects += 1;
                }
                None => return Ok((response, url)),
            }
            // ANCHOR_END: redirect
        }
    }

    /// A 401 we cannot answer: log in, or the credentials we sent are wrong.
    fn unauthorized(&self, registry: &str, url: String) -> Result<RegistryError, RegistryError> {
        Ok(match self.auth.credentials(registry)? {
            Some(c) => RegistryError::BadCredentials {
                registry: registry.to_string(),
                url,
                username: c.username,
            },
            None => RegistryError::NeedsLogin {
                registry: registry.to_string(),
                url,
            },
        })
    }
}

/// A header's value as text.
pub fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn connection_error(method: &str, url: &str, source: ureq::Error) -> RegistryError {
    RegistryError::Connection {
        method: method.to_string(),
        url: url.to_string(),
        host: host_of(url).to_string(),
        cause: Box::new(source),
    }
}

// ANCHOR: status
/// Turns an unexpected status into the error that says what to do.
pub fn status_error(
    method: &str,
    url: &str,
    response: &mut Response,
    subject: &Subject,
) -> RegistryError {
    let status = response.status().as_u16();
    let detail = registry_error_text(response);
    match status {
        403 => RegistryError::Forbidden {
            url: url.to_string(),
            repository: subject.repository.to_string(),
            action: subject.action.to_string(),
        },
        404 => RegistryError::NotFound {
            what: subject.what.to_string(),
            url: url.to_string(),
            repository: subject.repository.to_string(),
            detail: detail.trim_start_matches(": ").to_string(),
        },
        429 => RegistryError::RateLimited {
            url: url.to_string(),
            retry_after: header(response, "retry-after").and_then(crate::retry::parse_retry_after),
        },
        _ => RegistryError::Status {
            method: method.to_string(),
            url: url.to_string(),
            status,
            detail,
        },
    }
}
// ANCHOR_END: status

/// The registry's own words: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`.
fn registry_error_text(response: &mut Response) -> String {
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return String::new();
    };
    let words: Vec<String> = json
        .get("errors")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .map(|e| {
            let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
            let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            format!("{code} {message}").trim().to_string()
        })
        .collect();
    if words.is_empty() {
        String::new()
    } else {
        format!(": {}", words.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_urls_become_endpoints() {
        assert_eq!(
            Endpoint::from_url("http://127.0.0.1:5001/"),
            Endpoint {
                registry: "127.0.0.1:5001".into(),
                base: "http://127.0.0.1:5001".into()
            }
        );
        assert_eq!(
            Endpoint::from_url("mirror.gcr.io").base,
            "https://mirror.gcr.io"
        );
        assert_eq!(
            Endpoint::from_url("https://m.example").url("library/x/manifests/1"),
            "https://m.example/v2/library/x/manifests/1"
        );
    }
}
