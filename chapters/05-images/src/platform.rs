//! Platforms: which of an index's manifests this machine can run.
//!
//! A multi-platform image is an index (Docker: manifest list) of manifests,
//! one per `os/architecture[/variant]`. The names come from Go's GOOS and
//! GOARCH, while Linux says `x86_64` and `aarch64`: both are accepted and
//! normalised to Go's, as containerd does. An index may also hold
//! *attestation* manifests (provenance, SBOMs) with platform `unknown/unknown`;
//! they are skipped.

use oci_spec::image::{Descriptor, ImageIndex};

/// An `os/architecture[/variant]`, normalised (`x86_64` → `amd64`,
/// `aarch64` → `arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("{0:?} is not a platform: expected OS/ARCH or OS/ARCH/VARIANT, e.g. linux/amd64 or linux/arm64/v8")]
    Malformed(String),
    #[error("the image has no manifest for {wanted}; it offers {}: choose one with --platform", offered.join(", "))]
    NoMatch {
        wanted: String,
        offered: Vec<String>,
    },
}

/// The annotation docker buildx puts on attestation manifests.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

impl Platform {
    /// A platform from its parts, normalised.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let os = os.to_ascii_lowercase();
        let architecture = architecture.to_ascii_lowercase();
        let variant = variant
            .filter(|v| !v.is_empty())
            .map(str::to_ascii_lowercase);
        // ANCHOR: normalise
        let (architecture, variant) = match (architecture.as_str(), variant.as_deref()) {
            ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v.map(str::to_string)),
            ("aarch64" | "arm64", None | Some("8" | "v8")) => ("arm64", Some("v8".to_string())),
            ("aarch64" | "arm64", Some(v)) => ("arm64", Some(v.to_string())),
            ("armhf", _) => ("arm", Some("v7".to_string())),
            ("armel", _) => ("arm", Some("v6".to_string())),
            ("arm", None) => ("arm", Some("v7".to_string())),
            ("arm", Some(v)) => (
                "arm",
                Some(if v.starts_with('v') {
                    v.to_string()
                } else {
                    format!("v{v}")
                }),
            ),
            ("i386" | "i486" | "i586" | "i686" | "386", v) => ("386", v.map(str::to_string)),
            (other, v) => (other, v.map(str::to_string)),
        };
        // ANCHOR_END: normalise
        Platform {
            os,
            architecture: architecture.to_string(),
            variant,
        }
    }

    /// Parses `os/arch` or `os/arch/variant`.
    pub fn parse(text: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok = |s: &&str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => {
                Ok(Platform::new(os, arch, Some(variant)))
            }
            _ => Err(PlatformError::Malformed(text.to_string())),
        }
    }

    /// The platform this program was built for (and so runs on).
    pub fn host() -> Platform {
        Platform::new(std::env::consts::OS, std::env::consts::ARCH, None)
    }

    /// The platform an index entry or a config declares, normalised.
    pub fn of_oci(platform: &oci_spec::image::Platform) -> Platform {
        Platform::new(
            &platform.os().to_string(),
            &platform.architecture().to_string(),
            platform.variant().as_deref(),
        )
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s)
    }
}

/// True for an index entry that is not an image to run: an attestation.
fn is_attestation(descriptor: &Descriptor) -> bool {
    let annotated = descriptor
        .annotations()
        .as_ref()
        .is_some_and(|a| a.contains_key(REFERENCE_TYPE));
    let unknown = descriptor
        .platform()
        .as_ref()
        .is_some_and(|p| p.os().to_string() == "unknown");
    annotated || unknown
}

// ANCHOR: select_manifest
/// Picks the manifest for `wanted` from an index.
///
/// Attestations are skipped. An entry without a platform is taken only when
/// it is the index's single image (single-platform OCI layouts look so).
pub fn select_manifest(index: &ImageIndex, wanted: &Platform) -> Result<Descriptor, PlatformError> {
    let images: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| !is_attestation(d))
        .collect();
    let matching = images.iter().find(|d| {
        d.platform()
            .as_ref()
            .is_some_and(|p| Platform::of_oci(p) == *wanted)
    });
    if let Some(found) = matching {
        return Ok((*found).clone());
    }
    if let [only] = images.as_slice() {
        if only.platform().is_none() {
            return Ok((*only).clone());
        }
    }
    let offered = images
        .iter()
        .map(|d| match d.platform() {
            Some(p) => Platform::of_oci(p).to_string(),
            None => "(an entry without platform)".to_string(),
        })
        .collect();
    Err(PlatformError::NoMatch {
        wanted: wanted.to_string(),
        offered,
    })
}
// ANCHOR_END: select_manifest

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/aarch64").unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap(),
            Platform::parse("linux/arm64").unwrap()
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/arm/6").unwrap().to_string(),
            "linux/arm/v6"
        );
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
        let host = Platform::host();
        assert_eq!(host.os, "linux");
    }

    fn index(json: &str) -> ImageIndex {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn selects_skipping_attestations_and_lists_the_offer() {
        let d = |digit: char| format!("sha256:{}", digit.to_string().repeat(64));
        let idx = index(&format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":1,"platform":{{"os":"unknown","architecture":"unknown"}},
                "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}]}}"#,
            d('1'),
            d('2'),
            d('3')
        ));
        let pick = |p: &str| {
            select_manifest(&idx, &Platform::parse(p).unwrap()).map(|d| d.digest().to_string())
        };
        assert_eq!(pick("linux/x86_64").unwrap(), d('1'));
        assert_eq!(pick("linux/aarch64").unwrap(), d('2'));
        let err = pick("linux/s390x").unwrap_err().to_string();
        assert!(
            err.contains("linux/amd64, linux/arm64/v8") && !err.contains("unknown"),
            "{err}"
        );
    }
}
