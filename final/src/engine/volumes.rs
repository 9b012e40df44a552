//! `-v HOST:CTR[:ro|rw]` and `--tmpfs PATH[:OPTIONS]`.
//!
//! A host path that does not exist is *created* as a directory, as docker's
//! `-v` does (its `--mount` refuses instead): `-v` predates `--mount` and
//! scripts rely on it. The container path is only a string here; the
//! runtime resolves it inside the rootfs by file descriptor, so a symlink
//! in the image cannot send the mount out to the host (chapter 08).

use super::error::{EngineError, Result};
use super::record::Bind;
use std::path::{Component, Path, PathBuf};

/// Checks a path inside the container: absolute, no `..`.
fn container_path(spec: &str, path: &str) -> Result<String> {
    let p = Path::new(path);
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) || path == "/" {
        return Err(EngineError::Invalid(format!(
            "invalid volume specification {spec:?}: the container path {path:?} must be absolute, not /, and without `..`"
        )));
    }
    Ok(path.to_string())
}

/// Checks one `-v` without touching the host.
pub fn parse_bind_checked(spec: &str) -> Result<Bind> {
    parse(spec)
}

// ANCHOR: parse_bind
/// Parses one `-v`; creates the host directory when it is missing.
pub fn parse_bind(spec: &str) -> Result<Bind> {
    let bind = parse(spec)?;
    if !bind.source.exists() {
        std::fs::create_dir_all(&bind.source).map_err(EngineError::io(
            "creating the volume directory",
            &bind.source,
        ))?;
    }
    Ok(bind)
}
// ANCHOR_END: parse_bind

fn parse(spec: &str) -> Result<Bind> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, ctr, mode) = match parts.as_slice() {
        [host, ctr] => (*host, *ctr, "rw"),
        [host, ctr, mode] => (*host, *ctr, *mode),
        _ => {
            return Err(EngineError::Invalid(format!(
                "invalid volume specification {spec:?}: use HOST:CONTAINER[:ro|rw]"
            )))
        }
    };
    let read_only = match mode {
        "ro" => true,
        "rw" => false,
        other => {
            return Err(EngineError::Invalid(format!(
                "invalid volume specification {spec:?}: mode {other:?} is not ro or rw"
            )))
        }
    };
    if !host.starts_with('/') {
        return Err(EngineError::Invalid(format!(
            "invalid volume specification {spec:?}: {host:?} is not an absolute host path (named volumes are not supported)"
        )));
    }
    let destination = container_path(spec, ctr)?;
    Ok(Bind {
        source: PathBuf::from(host),
        destination,
        read_only,
    })
}

/// Parses `--tmpfs PATH[:OPTIONS]` (docker's default options when none).
pub fn parse_tmpfs(spec: &str) -> Result<(String, String)> {
    let (path, options) = spec
        .split_once(':')
        .unwrap_or((spec, "rw,noexec,nosuid,size=65536k"));
    Ok((container_path(spec, path)?, options.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_specs_are_refused() {
        for spec in [
            "/a",
            "a:/b",
            "/a:b",
            "/a:/b:rx",
            "/a:/../b",
            "/a:/b:ro:x",
            "/a:/",
        ] {
            assert!(parse_bind_checked(spec).is_err(), "{spec}");
        }
        assert!(parse_tmpfs("relative").is_err());
        assert_eq!(
            parse_tmpfs("/t:size=1m").ok(),
            Some(("/t".to_string(), "size=1m".to_string()))
        );
    }
}
