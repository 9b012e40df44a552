//! The byte pipeline under the tar parser: compressed blob → decoder →
//! size cap. Both ends are hashed while the bytes stream through (the
//! digest from the raw bytes, the DiffID from the decoded ones), so a layer
//! is read exactly once.

use crate::Compression;
use std::io::{self, BufRead, Read};

/// Big reads keep the per-call overhead of the decoder and sha256 small.
pub(crate) const STREAM_BUFFER: usize = 256 * 1024;

/// A decompressor chosen by the layer's media type.
pub(crate) enum Decoder<B: BufRead> {
    Plain(B),
    // MultiGz: `pigz` and some registries write several gzip members back
    // to back; Go's reader (docker, containerd) accepts that, so we do too.
    // Boxed: zlib-rs's inflate state is large, and one decoder per layer
    // costs nothing to allocate.
    Gzip(Box<flate2::bufread::MultiGzDecoder<B>>),
    Zstd(zstd::stream::read::Decoder<'static, B>),
}

impl<B: BufRead> Decoder<B> {
    pub(crate) fn new(compression: Compression, compressed: B) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decoder::Plain(compressed),
            Compression::Gzip => {
                Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(compressed)))
            }
            Compression::Zstd => {
                Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(compressed)?)
            }
        })
    }
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(inner) => inner.read(buf),
            Decoder::Gzip(inner) => inner.read(buf),
            Decoder::Zstd(inner) => inner.read(buf),
        }
    }
}

/// What went wrong below the tar parser, so that its error can be told
/// apart from a malformed archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The decoder (or the blob reader under it) failed.
    Decode(String),
    /// More uncompressed bytes than the cap allows.
    TooLarge,
}

// ANCHOR: size_cap
/// Counts the uncompressed bytes, refuses to go past the cap (a 1 KiB gzip
/// can expand to gigabytes), and remembers why a read failed.
pub(crate) struct Guard<R> {
    inner: R,
    bytes: u64,
    limit: Option<u64>,
    pub(crate) fault: Option<Fault>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                if self.limit.is_some_and(|limit| self.bytes > limit) {
                    self.fault = Some(Fault::TooLarge);
                    return Err(io::Error::other("layer exceeds the uncompressed size cap"));
                }
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => {
                self.fault.get_or_insert(Fault::Decode(err.to_string()));
                Err(err)
            }
        }
    }
}
// ANCHOR_END: size_cap

impl<R: Read> Guard<R> {
    pub(crate) fn new(inner: R, limit: Option<u64>) -> Self {
        Guard {
            inner,
            bytes: 0,
            limit,
            fault: None,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}
