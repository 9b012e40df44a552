//! The blob half of the store: verified while written, visible only when complete.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up its fixture has nothing to say

use ch05_images::store::DOCUMENT_CAP;
use ch05_images::{Digest, Store, StoreError};
use std::io::Write;

fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn open_creates_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let _store = Store::open(&root).unwrap();
    for sub in ["blobs/sha256", "layers/sha256", "tmp"] {
        assert!(root.join(sub).is_dir(), "{sub}");
    }
}

#[test]
fn put_and_read_a_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let digest = store.put_blob(None, b"hello").unwrap();
    assert_eq!(digest, Digest::of(b"hello"));
    assert!(store.has_blob(&digest));
    assert_eq!(
        store.blob_path(&digest),
        dir.path().join("blobs/sha256").join(digest.hex())
    );
    assert_eq!(store.read_blob(&digest, DOCUMENT_CAP).unwrap(), b"hello");
    // The cap is a cap: one byte under the blob's size is refused.
    assert!(matches!(
        store.read_blob(&digest, 4),
        Err(StoreError::TooLarge { .. })
    ));
    let wrong = Digest::of(b"other");
    assert!(matches!(
        store.put_blob(Some(&wrong), b"hello"),
        Err(StoreError::DigestMismatch { .. })
    ));
    assert!(!store.has_blob(&wrong));
}

#[test]
fn a_writer_verifies_size_and_digest_and_leaves_nothing_when_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let blobs = dir.path().join("blobs/sha256");
    let tmp = dir.path().join("tmp");
    let digest = Digest::of(b"0123456789");

    // Bytes that do not hash to the digest: refused, no blob, no temp file.
    let mut writer = store.blob_writer(&digest, Some(10)).unwrap();
    writer.write_all(b"0123456780").unwrap();
    assert!(matches!(
        writer.commit(),
        Err(StoreError::DigestMismatch { .. })
    ));
    assert_eq!((entries(&blobs), entries(&tmp)), (0, 0));

    // More bytes than the descriptor said: the write itself fails.
    let mut writer = store.blob_writer(&digest, Some(10)).unwrap();
    assert!(writer.write_all(b"0123456789X").is_err());
    drop(writer);
    assert_eq!((entries(&blobs), entries(&tmp)), (0, 0));

    // Short: refused at commit.
    let mut writer = store.blob_writer(&digest, Some(10)).unwrap();
    writer.write_all(b"01234").unwrap();
    assert!(matches!(
        writer.commit(),
        Err(StoreError::SizeMismatch { actual: 5, .. })
    ));

    // Resumed after a "broken connection", and restarted from zero.
    let mut writer = store.blob_writer(&digest, Some(10)).unwrap();
    writer.write_all(b"01234").unwrap();
    assert_eq!(writer.written(), 5);
    writer.write_all(b"56789").unwrap();
    writer.commit().unwrap();
    assert!(store.has_blob(&digest));
    let mut writer = store.blob_writer(&Digest::of(b"ab"), None).unwrap();
    writer.write_all(b"garbage").unwrap();
    writer.restart().unwrap();
    assert_eq!(writer.written(), 0);
    writer.write_all(b"ab").unwrap();
    writer.commit().unwrap();
    assert_eq!(entries(&tmp), 0);
}

#[test]
fn a_store_and_its_writers_can_be_shared_with_download_threads() {
    fn shareable<T: Send + Sync>() {}
    fn sendable<T: Send>() {}
    shareable::<Store>();
    sendable::<ch05_images::store::BlobWriter>();
}
