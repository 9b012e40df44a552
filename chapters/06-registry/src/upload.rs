//! The write side of the API: blob uploads, cross-repository mounts,
//! manifests by tag — and the tag list.
//!
//! ```text
//! HEAD  /v2/NAME/blobs/sha256:…                         200: the registry has it, skip
//! POST  /v2/NAME/blobs/uploads/?mount=sha256:…&from=OTHER  201: linked from OTHER, no bytes sent
//! POST  /v2/NAME/blobs/uploads/                          202 + Location: an upload session
//! PATCH Location  (bytes, Content-Range: START-END)       202 + a new Location, per chunk
//! PUT   Location&digest=sha256:…                          201: verified and stored
//! PUT   /v2/NAME/manifests/TAG                            201 + Docker-Content-Digest
//! ```

use crate::client::{header, status_error, Client, Remote, Subject};
use crate::error::RegistryError;
use crate::transport::{resolve_location, Exchange};
use ch05_images::Digest;
use std::io::Read;
use std::path::Path;
use ureq::http::Method;

/// Bytes per PATCH: each is one request (and one retry unit).
pub const CHUNK: usize = 8 << 20;

/// What the registry did with a mount request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// Linked from the other repository: nothing to upload.
    Mounted,
    /// Not mounted (unknown there, or not allowed): upload to this session.
    Upload(String),
}

impl Client {
    fn subject<'s>(&self, remote: &'s Remote, what: &'s str) -> Subject<'s> {
        Subject {
            what,
            repository: remote.name(),
            action: "push",
        }
    }

    /// `HEAD /v2/NAME/blobs/DIGEST`: does the registry have this blob here?
    pub fn blob_exists(&self, remote: &Remote, digest: &Digest) -> Result<bool, RegistryError> {
        let url = remote.url(&format!("blobs/{digest}"));
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |u| {
            Exchange::new(Method::HEAD, u)
        })?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => {
                let what = format!("blob {digest}");
                Err(status_error(
                    "HEAD",
                    &url,
                    &mut response,
                    &self.subject(remote, &what),
                ))
            }
        }
    }

    // ANCHOR: mount
    /// `POST …/blobs/uploads/?mount=DIGEST&from=OTHER`: a blob the registry
    /// has in another repository is linked, not uploaded again.
    pub fn mount_blob(
        &self,
        remote: &Remote,
        digest: &Digest,
        from: &str,
    ) -> Result<Mount, RegistryError> {
        let url = remote.url(&format!("blobs/uploads/?mount={digest}&from={from}"));
        let what = format!("mount of {digest} from {from}");
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |u| {
            Exchange::new(Method::POST, u)
        })?;
        match response.status().as_u16() {
            201 => Ok(Mount::Mounted),
            202 => Ok(Mount::Upload(location(&response, &url, &what)?)),
            _ => Err(status_error(
                "POST",
                &url,
                &mut response,
                &self.subject(remote, &what),
            )),
        }
    }
    // ANCHOR_END: mount

    /// `POST …/blobs/uploads/`: opens an upload session; its URL is `Location`.
    pub fn start_upload(&self, remote: &Remote) -> Result<String, RegistryError> {
        let url = remote.url("blobs/uploads/");
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |u| {
            Exchange::new(Method::POST, u)
        })?;
        match response.status().as_u16() {
            202 => location(&response, &url, "upload session"),
            _ => Err(status_error(
                "POST",
                &url,
                &mut response,
                &self.subject(remote, "upload"),
            )),
        }
    }

    /// Uploads `size` bytes of blob `digest` from `path` to the session at
    /// `session`: PATCH chunk by chunk, then PUT with the digest (which the
    /// registry checks before it accepts the blob).
    pub fn upload_blob(
        &self,
        remote: &Remote,
        digest: &Digest,
        path: &Path,
        mut session: String,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let what = format!("upload of {digest}");
        let read_error = |cause| RegistryError::Read {
            what: format!("blob {digest}"),
            url: path.display().to_string(),
            cause,
        };
        let mut file = std::fs::File::open(path).map_err(read_error)?;
        let mut chunk = vec![0u8; CHUNK];
        let mut offset = 0u64;
        loop {
            let n = read_full(&mut file, &mut chunk).map_err(read_error)?;
            if n == 0 {
                break;
            }
            // ANCHOR: upload
            let body = &chunk[..n];
            // distribution checks that START is where the upload stands.
            let range = format!("{offset}-{}", offset + n as u64 - 1);
            let (mut response, url) =
                self.call(remote.endpoint, &remote.scopes, &session, |u| {
                    let mut exchange = Exchange::new(Method::PATCH, u)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Range", range.clone())
                        .body(body);
                    exchange.curl_body = Some(path.display().to_string());
                    exchange
                })?;
            if response.status().as_u16() != 202 {
                return Err(status_error(
                    "PATCH",
                    &url,
                    &mut response,
                    &self.subject(remote, &what),
                ));
            }
            session = location(&response, &url, &what)?;
            // ANCHOR_END: upload
            offset += n as u64;
            progress(offset);
        }
        // ANCHOR: upload_put
        // The session URL has a query already (`?_state=…`): append the digest.
        let separator = if session.contains('?') { '&' } else { '?' };
        let url = format!("{session}{separator}digest={digest}");
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |u| {
            Exchange::new(Method::PUT, u).header("Content-Type", "application/octet-stream")
        })?;
        match response.status().as_u16() {
            201 => Ok(()),
            // ANCHOR_END: upload_put
            _ => Err(status_error(
                "PUT",
                &url,
                &mut response,
                &self.subject(remote, &what),
            )),
        }
    }

    // ANCHOR: put_manifest
    /// `PUT /v2/NAME/manifests/TAG`: the manifest last, once its blobs are
    /// there (the registry refuses one naming a blob it lacks).
    pub fn put_manifest(
        &self,
        remote: &Remote,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let url = remote.url(&format!("manifests/{tag}"));
        let what = format!("manifest {}:{tag}", remote.repository);
        let (mut response, url) = self.call(remote.endpoint, &remote.scopes, &url, |u| {
            let mut exchange = Exchange::new(Method::PUT, u)
                .header("Content-Type", media_type)
                .body(bytes);
            // What `ch06-registry manifest REF > manifest.json` writes.
            exchange.curl_body = Some("manifest.json".into());
            exchange
        })?;
        if response.status().as_u16() != 201 {
            return Err(status_error(
                "PUT",
                &url,
                &mut response,
                &self.subject(remote, &what),
            ));
        }
        let ours = Digest::of(bytes);
        match header(&response, "docker-content-digest").map(Digest::parse) {
            Some(Ok(theirs)) if theirs != ours => Err(RegistryError::DigestMismatch {
                what,
                expected: ours,
                actual: theirs,
            }),
            _ => Ok(ours),
        }
    }
    // ANCHOR_END: put_manifest

    /// `GET /v2/NAME/tags/list`, following `Link: <…>; rel="next"` pages.
    pub fn tags(&self, remote: &Remote) -> Result<Vec<String>, RegistryError> {
        let mut url = remote.url("tags/list");
        let mut tags = Vec::new();
        let what = format!("repository {}", remote.repository);
        let subject = Subject {
            what: &what,
            repository: remote.name(),
            action: "pull",
        };
        for _page in 0..1000 {
            let (mut response, answered) =
                self.call(remote.endpoint, &remote.scopes, &url, |u| {
                    Exchange::new(Method::GET, u)
                })?;
            if response.status().as_u16() != 200 {
                return Err(status_error("GET", &answered, &mut response, &subject));
            }
            let next = header(&response, "link").and_then(next_link);
            let body = response
                .body_mut()
                .with_config()
                .limit(crate::manifest::MANIFEST_CAP)
                .read_to_vec()
                .map_err(|e| RegistryError::Read {
                    what: what.clone(),
                    url: answered.clone(),
                    cause: std::io::Error::other(e),
                })?;
            let json: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| RegistryError::BadContent {
                    what: what.clone(),
                    url: answered.clone(),
                    detail: format!("not a tag list: {e}"),
                })?;
            let page = json
                .get("tags")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten();
            tags.extend(page.filter_map(|t| t.as_str()).map(str::to_string));
            match next {
                Some(link) => url = resolve_location(&answered, &link),
                None => return Ok(tags),
            }
        }
        Ok(tags)
    }
}

/// The `Location` of an upload answer, made absolute.
fn location(
    response: &crate::client::Response,
    url: &str,
    what: &str,
) -> Result<String, RegistryError> {
    header(response, "location")
        .map(|l| resolve_location(url, l))
        .ok_or_else(|| RegistryError::BadContent {
            what: what.to_string(),
            url: url.to_string(),
            detail: "a 202 without Location".into(),
        })
}

/// `<URL>; rel="next"` → URL.
fn next_link(link: &str) -> Option<String> {
    link.split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            Some(part[start..end].to_string())
        })
}

/// Reads until `buffer` is full or the file ends.
fn read_full(file: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/x/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
    }
}
