//! The ways talking to a registry can fail, each with what to do about it.

use crate::challenge::ChallengeError;
use crate::credentials::CredentialsError;
use ch05_images::Digest;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    // The cause is in the message, so it is not also a `source` (said once).
    #[error("{method} {url}: {cause}: is the registry running, and is {host} the right address?")]
    Connection {
        method: String,
        url: String,
        host: String,
        cause: Box<ureq::Error>,
    },
    #[error(
        "{url}: {registry} wants credentials: log in with `ch06-registry login {registry}` \
         (or pass --username and --password-stdin)"
    )]
    NeedsLogin { registry: String, url: String },
    #[error("{url}: {registry} refused the credentials for {username:?}: log in again with the right password or token")]
    BadCredentials {
        registry: String,
        url: String,
        username: String,
    },
    #[error("{url}: access to {repository} is denied (403): your account may not {action} it")]
    Forbidden {
        url: String,
        repository: String,
        action: String,
    },
    #[error(
        "{what} not found (404 {detail}) at {url}: check the repository name and the tag \
         (`ch06-registry tags {repository}` lists the tags); a private repository also answers 404 without login"
    )]
    NotFound {
        what: String,
        url: String,
        repository: String,
        detail: String,
    },
    #[error("{url}: the registry is rate limiting us (429){}: wait, log in (a higher limit), or pull through a mirror (--registry-mirror)", wait_text(.retry_after))]
    RateLimited {
        url: String,
        retry_after: Option<Duration>,
    },
    #[error("{method} {url}: the registry answered {status}{detail}")]
    Status {
        method: String,
        url: String,
        status: u16,
        detail: String,
    },
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    #[error(
        "{registry} sends us to {realm} for a token over plain http, which would expose it: \
         refused (name the registry with --insecure if this is really your test setup)"
    )]
    InsecureRealm { registry: String, realm: String },
    #[error("the token server {realm} refused us ({status}){}", if *.with_credentials { ": check the user and password" } else { ": this repository may need a login" })]
    TokenRefused {
        realm: String,
        status: u16,
        with_credentials: bool,
    },
    #[error("the token server {realm} answered something that is not a token: {detail}")]
    TokenMalformed { realm: String, detail: String },
    #[error("{what} from {url} is larger than {cap} bytes: refused (a registry never needs that much for it)")]
    TooLarge { what: String, url: String, cap: u64 },
    #[error("{what}: the registry sent content whose digest is {actual}, not {expected}: refused")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what} from {url}: {detail}")]
    BadContent {
        what: String,
        url: String,
        detail: String,
    },
    #[error(
        "blob {digest}: {detail}, also after downloading it again: refused (nothing was stored)"
    )]
    BlobRefused { digest: Digest, detail: String },
    #[error("{what} from {url}: {cause}")]
    Read {
        what: String,
        url: String,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Store(#[from] ch05_images::StoreError),
}

fn wait_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" and asks for {} s of patience", wait.as_secs()),
        None => String::new(),
    }
}

impl RegistryError {
    /// Every registry failure is the tool's (125): no container ran.
    pub fn exit_code(&self) -> i32 {
        ch01_chroot::process::exit_code::TOOL_FAILED
    }
}
