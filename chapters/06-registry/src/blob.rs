//! `GET /v2/NAME/blobs/DIGEST`: a layer's bytes, resumed when the connection drops.
//!
//! The bytes go straight into the store's temporary file (which hashes them
//! as they arrive). When the connection breaks at byte N, the next request
//! says `Range: bytes=N-` and the registry answers `206 Partial Content`
//! with the rest — so a 500 MB layer on bad Wi-Fi is fetched once, not from
//! the start each time. Whether the pieces make up the right blob is decided
//! at the end, by its digest over all of them.

use crate::client::{header, status_error, Client, Remote, Subject};
use crate::error::RegistryError;
use crate::retry::Retrier;
use crate::transport::Exchange;
use ch05_images::Digest;
use std::io::{Read, Write};
use ureq::http::Method;

/// Where a download writes: the store's blob writer (bytes so far, appendable).
pub trait BlobSink: Write {
    /// Bytes written so far: where a resumed download starts.
    fn written(&self) -> u64;
}

impl BlobSink for ch05_images::store::BlobWriter {
    fn written(&self) -> u64 {
        ch05_images::store::BlobWriter::written(self)
    }
}

impl Client {
    /// Downloads blob `digest` (`size` bytes) into `sink`, resuming with
    /// `Range` after a dropped connection; `progress` hears the bytes so far.
    /// The caller verifies the digest (the store's commit does).
    pub fn download_blob(
        &self,
        remote: &Remote,
        digest: &Digest,
        size: u64,
        sink: &mut dyn BlobSink,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let what = format!("blob {digest}");
        let subject = Subject {
            what: &what,
            repository: remote.name(),
            action: "pull",
        };
        // ANCHOR: download
        let mut resumes = Retrier::new(self.transport.retry_policy());
        loop {
            let start = sink.written();
            if start >= size {
                return Ok(());
            }
            let (mut response, url) = self.call(
                remote.endpoint,
                &remote.scopes,
                &remote.url(&format!("blobs/{digest}")),
                |url| {
                    let mut exchange = Exchange::new(Method::GET, url);
                    exchange.curl_output = Some(digest.hex().to_string());
                    if start > 0 {
                        exchange = exchange.header("Range", format!("bytes={start}-"));
                    }
                    exchange
                },
            )?;
            let skip = match response.status().as_u16() {
                // The whole blob: if we asked for a range, drop what we already have.
                200 => start,
                206 => {
                    check_content_range(header(&response, "content-range"), start).map_err(
                        |detail| RegistryError::BadContent {
                            what: what.clone(),
                            url: url.clone(),
                            detail,
                        },
                    )?;
                    0
                }
                _ => return Err(status_error("GET", &url, &mut response, &subject)),
                // ANCHOR_END: download
            };
            // ANCHOR: resume
            let body = response.body_mut().with_config().limit(u64::MAX).reader();
            let copied = copy_into(body, skip, size - start, sink, progress);
            let written = sink.written();
            let failure = match copied {
                Ok(()) if written >= size => return Ok(()),
                // The body ended early but "cleanly": ask for the rest.
                Ok(()) => format!("the response ended at byte {written} of {size}"),
                Err(e) => format!("{e} at byte {written} of {size}"),
            };
            let Some(wait) = resumes.next_wait(None) else {
                return Err(RegistryError::Read {
                    what,
                    url,
                    cause: std::io::Error::other(format!(
                        "{failure}; giving up after {} tries",
                        resumes.tries()
                    )),
                });
            };
            self.transport.tracer.note(&format!(
                "{failure}: resuming with Range: bytes={written}- in {:.1} s",
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
            // ANCHOR_END: resume
        }
    }
}

/// Copies at most `want` bytes of `body` (after skipping `skip`) into `sink`.
fn copy_into(
    mut body: impl Read,
    mut skip: u64,
    mut want: u64,
    sink: &mut dyn BlobSink,
    progress: &dyn Fn(u64),
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    while want > 0 {
        let n = body.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        let mut chunk = &buffer[..n];
        let skipped = skip.min(chunk.len() as u64) as usize;
        skip -= skipped as u64;
        chunk = &chunk[skipped..];
        let take = want.min(chunk.len() as u64) as usize;
        sink.write_all(&chunk[..take])?;
        want -= take as u64;
        progress(sink.written());
    }
    Ok(())
}

/// `Content-Range: bytes START-END/TOTAL` must start where we asked.
fn check_content_range(value: Option<&str>, start: u64) -> Result<(), String> {
    let value = value.ok_or("a 206 without Content-Range")?;
    let first = value
        .trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("Content-Range {value:?} is malformed"))?;
    if first != start {
        return Err(format!(
            "asked for bytes from {start}, got Content-Range {value:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct VecSink(Vec<u8>);
    impl Write for VecSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl BlobSink for VecSink {
        fn written(&self) -> u64 {
            self.0.len() as u64
        }
    }

    #[test]
    fn copies_skip_and_stop_at_the_size() {
        let mut sink = VecSink(b"abc".to_vec());
        // A 200 after a range request: skip the 3 bytes we have, take 4, ignore extra.
        copy_into(&b"abcdefgXYZ"[..], 3, 4, &mut sink, &|_| {}).unwrap();
        assert_eq!(sink.0, b"abcdefg");
        assert!(check_content_range(Some("bytes 3-9/10"), 3).is_ok());
        assert!(check_content_range(Some("bytes 0-9/10"), 3).is_err());
        assert!(check_content_range(None, 3).is_err());
    }
}
