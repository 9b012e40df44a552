//! `ch05-images`: import, inspect and run OCI images from a content-addressed store.

mod container;

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch01_chroot::Narrator;
use ch03_cgroups::cli::LimitFlags;
use ch05_images::import::{import, ImportOptions};
use ch05_images::store::DEFAULT_ROOT;
use ch05_images::{inspect, Platform, Reference, Store, StoreError};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// OCI images: a content-addressed store, verified digests, and unpacking that cannot escape.
#[derive(Debug, Parser)]
#[command(name = "ch05-images", version)]
struct Cli {
    /// The image store (blobs, unpacked layers, refs).
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_ROOT)]
    root: PathBuf,
    /// Which manifest of a multi-platform image: OS/ARCH[/VARIANT] (default: this machine's).
    #[arg(long, global = true, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<Platform>,
    #[command(flatten)]
    narration: NarrationFlags,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import an OCI layout (dir or .tar), a `docker save` tarball, or a root filesystem (dir or tarball).
    Import {
        /// What to import.
        path: PathBuf,
        /// The name to give it (default: the name inside, or the file's name).
        name: Option<Reference>,
        /// For a root filesystem: the command the image runs (its Cmd), split at spaces.
        #[arg(long, value_name = "\"CMD ARGS…\"")]
        cmd: Option<String>,
        /// Refuse a layer that unpacks to more than this many bytes.
        #[arg(long, value_name = "BYTES")]
        max_layer_size: Option<u64>,
    },
    /// List the images: name, tag, image ID, size.
    Ls,
    /// The image's manifest, config and layers as JSON (like `docker image inspect`).
    Inspect { image: Reference },
    /// The steps that built the image, newest first, with the layer each made.
    History { image: Reference },
    /// Remove a name; then (unless --no-prune) the blobs and layers no name needs.
    Rmi {
        image: Reference,
        #[arg(long)]
        no_prune: bool,
    },
    /// Delete every blob and unpacked layer that no name reaches.
    Gc,
    /// Write an image as an OCI layout: a directory, or an oci-archive if TARGET ends in .tar.
    Export { image: Reference, target: PathBuf },
    /// Run the image's command (or CMD…) on an overlay of its layers, in new namespaces.
    Run {
        image: Reference,
        /// The container's name (its hostname, and its cgroup with a limit).
        #[arg(long, default_value = "ch05")]
        name: String,
        #[command(flatten)]
        limits: LimitFlags,
        /// Trainer mode: stop once the overlay is mounted, and after exit.
        #[arg(long)]
        pause: bool,
        /// Replaces the image's Cmd (the Entrypoint stays, as with docker).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    exit_with::<StoreError>("ch05-images", run(cli), StoreError::exit_code)
}

fn open(cli: &Cli, narrator: &Narrator) -> anyhow::Result<Store> {
    Store::open_with(&cli.root, narrator.clone())
        .with_context(|| format!("opening the image store {}", cli.root.display()))
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch05");
    let platform = cli.platform.clone().unwrap_or_else(Platform::host);
    match &cli.command {
        Command::Import {
            path,
            name,
            cmd,
            max_layer_size,
        } => {
            let mut store = open(&cli, &narrator)?;
            if let Some(cap) = max_layer_size {
                let mut options = store.unpack_options().clone();
                options.max_uncompressed_bytes = Some(*cap);
                store.set_unpack_options(options);
            }
            let options = ImportOptions {
                name: name.clone(),
                platform,
                cmd: cmd
                    .as_ref()
                    .map(|c| c.split_whitespace().map(str::to_string).collect()),
            };
            let image = import(&store, path, &options)
                .with_context(|| format!("importing {}", path.display()))?;
            narrator.observe(&format!(
                "{} → manifest {} (image ID {}), {} layer(s) in {}",
                image.reference.familiar(),
                image.manifest_digest.short(),
                image.config_digest.short(),
                image.layer_digests.len(),
                store.root().join("layers/sha256").display()
            ));
            println!("{}", image.reference);
            Ok(0)
        }
        Command::Ls => {
            let store = open(&cli, &narrator)?;
            println!(
                "{:<40} {:<16} {:<14} {:>10}",
                "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
            );
            for summary in store.images()? {
                let familiar = summary.reference.familiar();
                let repository = familiar
                    .rsplit_once(':')
                    .map_or(familiar.as_str(), |(r, _)| r)
                    .to_string();
                let repository = repository.split('@').next().unwrap_or_default().to_string();
                println!(
                    "{:<40} {:<16} {:<14} {:>10}",
                    repository,
                    summary.reference.tag().unwrap_or("<none>"),
                    summary.id.as_ref().map_or("?", |d| d.short()),
                    ch04_overlay::usage::human(summary.size)
                );
            }
            Ok(0)
        }
        Command::Inspect { image } => {
            let store = open(&cli, &narrator)?;
            let found = store.resolve(image)?;
            let json = serde_json::json!([inspect::inspect(&store, &found)]);
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(0)
        }
        Command::History { image } => {
            let store = open(&cli, &narrator)?;
            let found = store.resolve(image)?;
            println!(
                "{:<14} {:<22} {:<50} {:>10}  COMMENT",
                "IMAGE", "CREATED", "CREATED BY", "SIZE"
            );
            let rows = inspect::history(&found);
            for (i, row) in rows.iter().enumerate() {
                let id = if i == 0 {
                    found.config_digest.short().to_string()
                } else {
                    "<missing>".into()
                };
                let mut created_by: String = row.created_by.chars().take(50).collect();
                if row.created_by.chars().count() > 50 {
                    created_by.replace_range(created_by.len() - 1.., "…");
                }
                println!(
                    "{:<14} {:<22} {:<50} {:>10}  {}",
                    id,
                    row.created,
                    created_by,
                    row.size
                        .map_or("0B".to_string(), ch04_overlay::usage::human),
                    row.comment
                );
            }
            Ok(0)
        }
        Command::Rmi { image, no_prune } => {
            let store = open(&cli, &narrator)?;
            let entry = store.remove_ref(image)?;
            println!("Untagged: {}", image.familiar());
            narrator.step(&format!(
                "refs.json: {} no longer points at {}",
                image,
                entry.manifest.short()
            ));
            if !no_prune {
                let report = store.gc()?;
                print_gc(&report, &narrator);
            }
            Ok(0)
        }
        Command::Gc => {
            let store = open(&cli, &narrator)?;
            let report = store.gc()?;
            print_gc(&report, &narrator);
            Ok(0)
        }
        Command::Export { image, target } => {
            let store = open(&cli, &narrator)?;
            let found = store.resolve(image)?;
            ch05_images::export::export(&store, &found, target)
                .with_context(|| format!("exporting {image} to {}", target.display()))?;
            narrator.observe(&format!(
                "{} written as an OCI layout: manifest {}, config, {} layer(s), blobs copied byte for byte",
                target.display(),
                found.manifest_digest.short(),
                found.layer_digests.len()
            ));
            Ok(0)
        }
        Command::Run {
            image,
            name,
            limits,
            pause,
            command,
        } => {
            let store = open(&cli, &narrator)?;
            let run = container::RunRequest {
                image,
                name,
                limits,
                pause: *pause,
                command,
            };
            container::run(&store, &run, &narrator)
        }
    }
}

fn print_gc(report: &ch05_images::store::GcReport, narrator: &Narrator) {
    narrator.step(&format!(
        "gc: removed {} blob(s) ({}), {} unpacked layer(s), {} leftover(s) of interrupted imports",
        report.blobs,
        ch04_overlay::usage::human(report.blob_bytes),
        report.layers,
        report.temporaries
    ));
    println!(
        "Deleted: {} blob(s), {} layer(s)",
        report.blobs, report.layers
    );
}
