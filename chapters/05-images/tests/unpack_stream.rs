//! The stream under the tar: a truncated or garbage blob is refused with a
//! clear error, and the uncompressed-size cap holds — also in the padding
//! after the end-of-archive marker, which only draining reads.

// Test code: an unwrap that fails is a failing test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ch05_images::unpack::{unpack_layer, UnpackError, UnpackOptions};
use ch05_images::Compression;
use common::*;
use minibox_testkit::require_root;

/// A layer of a few hundred KiB that gzip and zstd cannot squeeze to nothing.
fn layer() -> Vec<u8> {
    let mut layer = Layer::new();
    layer.dir("data/", ROOT_0755);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..64 {
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 16) as u8 + b'a'
            })
            .collect();
        layer.file(&format!("data/{i}"), &bytes);
    }
    layer.tar()
}

fn unpack(blob: &[u8], compression: Compression, cap: Option<u64>) -> Result<(), UnpackError> {
    let scratch = Scratch::new();
    let before = scratch.snapshot();
    let options = UnpackOptions {
        max_uncompressed_bytes: cap,
        ..UnpackOptions::default()
    };
    let result = unpack_layer(blob, compression, &scratch.dest(), &options);
    assert_eq!(scratch.snapshot(), before);
    if let Err(err) = &result {
        eprintln!("{compression:?}: {err}");
    }
    result.map(drop)
}

#[test]
fn truncated_blobs_are_refused() {
    if !require_root("truncated_blobs_are_refused") {
        return;
    }
    let tar = layer();
    for compression in [Compression::Gzip, Compression::Zstd] {
        let blob = compress(&tar, compression);
        for keep in [blob.len() / 2, blob.len() - 4, blob.len() - 1] {
            match unpack(&blob[..keep], compression, None) {
                Err(UnpackError::Decompress {
                    compression: c,
                    cause,
                }) => {
                    assert_eq!(c, compression);
                    assert!(!cause.is_empty());
                }
                other => panic!("{compression:?} cut to {keep} of {}: {other:?}", blob.len()),
            }
        }
    }
    // A plain tar cut inside an entry.
    match unpack(&tar[..tar.len() / 2 + 100], Compression::None, None) {
        Err(UnpackError::Malformed { .. }) => {}
        other => panic!("plain tar cut short: {other:?}"),
    }
}

#[test]
fn garbage_is_refused() {
    if !require_root("garbage_is_refused") {
        return;
    }
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for compression in [Compression::Gzip, Compression::Zstd] {
        let err = unpack(&garbage, compression, None).unwrap_err();
        assert!(matches!(err, UnpackError::Decompress { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("truncated or corrupt"), "{text}");
    }
    let err = unpack(&garbage, Compression::None, None).unwrap_err();
    assert!(matches!(err, UnpackError::Malformed { .. }), "{err:?}");
    // Valid gzip followed by junk: the blob is not one gzip stream.
    let mut blob = compress(&layer(), Compression::Gzip);
    blob.extend_from_slice(b"junk after the end");
    let err = unpack(&blob, Compression::Gzip, None).unwrap_err();
    assert!(matches!(err, UnpackError::Decompress { .. }), "{err:?}");
}

#[test]
fn the_size_cap_holds() {
    if !require_root("the_size_cap_holds") {
        return;
    }
    let tar = layer();
    let len = tar.len() as u64;
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let blob = compress(&tar, compression);
        unpack(&blob, compression, Some(len)).unwrap();
        for cap in [len - 1, len / 2, 1024] {
            match unpack(&blob, compression, Some(cap)) {
                Err(UnpackError::TooLarge { limit }) => assert_eq!(limit, cap),
                other => panic!("{compression:?} with cap {cap}: {other:?}"),
            }
        }
        // Bytes after the end-of-archive marker count as well: only the
        // drain reads them.
        let mut padded = tar.clone();
        padded.extend_from_slice(&[0; 8192]);
        let blob = compress(&padded, compression);
        assert!(matches!(
            unpack(&blob, compression, Some(len + 100)),
            Err(UnpackError::TooLarge { .. })
        ));
    }
}
