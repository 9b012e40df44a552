//! Images: chapter 05's store and chapter 06's registry client, with
//! docker's words on stderr.

use super::error::{EngineError, Result};
use super::Engine;
use ch05_images::import::ImportOptions;
use ch05_images::{Image, Reference};
use ch06_registry::pull::{PullEvent, PullOptions};
use ch06_registry::transport::TransportOptions;
use ch06_registry::Client;

/// One line of `minibox images`.
#[derive(Debug, Clone)]
pub struct ImageRow {
    pub repository: String,
    pub tag: String,
    pub id: String,
    pub created: String,
    pub size: u64,
}

pub fn parse_reference(text: &str) -> Result<Reference> {
    Reference::parse(text).map_err(|e| EngineError::Invalid(e.to_string()))
}

fn client() -> Client {
    Client::new(
        &TransportOptions::default(),
        ch06_registry::trace::Tracer::default(),
        ch06_registry::credentials::config_path().ok(),
    )
}

impl Engine {
    /// Finds an image; with `pull_missing`, pulls it first if the store lacks it.
    pub fn image(&self, name: &str, pull_missing: bool) -> Result<Image> {
        let reference = parse_reference(name)?;
        let store = self.store()?;
        match store.resolve(&reference) {
            Ok(image) => Ok(image),
            Err(ch05_images::StoreError::UnknownImage(_)) if pull_missing => {
                self.say(&format!(
                    "Unable to find image '{}' locally",
                    reference.familiar()
                ));
                drop(store);
                self.pull(name)
            }
            Err(ch05_images::StoreError::UnknownImage(_)) => Err(EngineError::NotFound(format!(
                "no such image: {} (`minibox images` lists them; `minibox pull` fetches one)",
                reference.familiar()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Prints to stderr, never panicking (docker's progress lines).
    pub fn say(&self, text: &str) {
        if self.chatty {
            ch01_chroot::narrate::write_line(text);
        }
    }

    // ANCHOR: pull
    /// `pull`: chapter 06 into chapter 05's store.
    pub fn pull(&self, name: &str) -> Result<Image> {
        let reference = parse_reference(name)?;
        let store = self.store()?;
        let tag = reference.tag().unwrap_or("latest").to_string();
        self.say(&format!("{tag}: Pulling from {}", reference.repository()));
        let watch = |event: PullEvent| match event {
            PullEvent::Complete { digest } => {
                self.say(&format!("{}: Pull complete", digest.short()))
            }
            PullEvent::AlreadyExists { digest } => {
                self.say(&format!("{}: Already exists", digest.short()))
            }
            _ => {}
        };
        let pulled = ch06_registry::pull::pull(
            &client(),
            &store,
            &reference,
            &PullOptions::default(),
            &watch,
        )?;
        self.say(&format!("Digest: {}", pulled.digest));
        self.say(&format!(
            "Status: Downloaded newer image for {}",
            reference.familiar()
        ));
        Ok(pulled.image)
    }
    // ANCHOR_END: pull

    /// `push SOURCE [DESTINATION]`.
    pub fn push(&self, source: &str, destination: Option<&str>) -> Result<String> {
        let source_ref = parse_reference(source)?;
        let destination_ref = match destination {
            Some(d) => parse_reference(d)?,
            None => source_ref.clone(),
        };
        let store = self.store()?;
        let pushed = ch06_registry::push::push(
            &client(),
            &store,
            &source_ref,
            &destination_ref,
            &|event| {
                if let ch06_registry::push::PushEvent::Pushed { digest } = event {
                    self.say(&format!("{}: Pushed", digest.short()));
                }
            },
        )?;
        self.say(&format!(
            "{}: digest: {} size: {}",
            pushed.tag, pushed.digest, pushed.size
        ));
        Ok(pushed.digest.to_string())
    }

    /// `import PATH NAME` (a rootfs directory or tarball, an OCI layout or archive,
    /// a docker-archive) and `load -i FILE` (no name: the archive's own).
    pub fn import(&self, path: &std::path::Path, name: Option<&str>) -> Result<Image> {
        let store = self.store()?;
        let options = ImportOptions {
            name: name.map(parse_reference).transpose()?,
            ..ImportOptions::default()
        };
        Ok(ch05_images::import::import(&store, path, &options)?)
    }

    /// `save -o FILE REF`: an OCI archive (a tarred image layout).
    pub fn save(&self, name: &str, target: &std::path::Path) -> Result<()> {
        let image = self.image(name, false)?;
        let store = self.store()?;
        let tmp = target.with_file_name(format!(
            ".{}.{}.tar",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        ch05_images::export::export(&store, &image, &tmp)?;
        std::fs::rename(&tmp, target).map_err(EngineError::io("renaming into", target))
    }

    /// `tag SOURCE TARGET`.
    pub fn tag(&self, source: &str, target: &str) -> Result<()> {
        let image = self.image(source, false)?;
        let target = parse_reference(target)?;
        self.store()?
            .commit_image(&target, &image.target, &image.platform)?;
        Ok(())
    }

    /// `rmi [-f] REF`: refused while a container uses the image (unless -f).
    pub fn remove_image(&self, name: &str, force: bool) -> Result<String> {
        let image = self.image(name, false)?;
        let image_id = image.config_digest.to_string();
        if !force {
            for id in self.containers.ids() {
                if let Ok(record) = self.containers.load(&id) {
                    if record.image_id == image_id {
                        return Err(EngineError::Conflict(format!(
                            "unable to remove {name}: container {} uses it (remove the container first, or use -f)",
                            super::ids::short(&id)
                        )));
                    }
                }
            }
        }
        let store = self.store()?;
        store.remove_ref(&image.reference)?;
        // Blobs and layers no other name needs go now (skipped while the store is busy).
        let _ = store.gc();
        Ok(format!("Untagged: {}", image.reference.familiar()))
    }

    /// `images`.
    pub fn images(&self) -> Result<Vec<ImageRow>> {
        let store = self.store()?;
        let mut rows = Vec::new();
        for summary in store.images()? {
            let created = store
                .resolve(&summary.reference)
                .ok()
                .and_then(|i| i.config.created().clone())
                .unwrap_or_default();
            let familiar = summary.reference.familiar();
            let (repository, tag) = match familiar.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                _ => (familiar.clone(), "<none>".into()),
            };
            rows.push(ImageRow {
                repository,
                tag,
                id: summary
                    .id
                    .map(|d| d.hex()[..12].to_string())
                    .unwrap_or_default(),
                created,
                size: summary.size,
            });
        }
        Ok(rows)
    }
}
