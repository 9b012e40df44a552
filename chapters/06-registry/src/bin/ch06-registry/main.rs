//! `ch06-registry`: pull and push images over the OCI distribution API,
//! every HTTP request visible (`--trace-http`, `--curl`).

mod login;
mod progress;

use anyhow::Context;
use ch01_chroot::cli::{exit_with, NarrationFlags};
use ch05_images::{Platform, Reference, Store};
use ch06_registry::client::{Client, Remote};
use ch06_registry::credentials;
use ch06_registry::mirror::{load_settings, registry_host};
use ch06_registry::pull::{pull, PullOptions};
use ch06_registry::push::push;
use ch06_registry::transport::TransportOptions;
use ch06_registry::RegistryError;
use clap::{Parser, Subcommand};
use progress::Display;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Pull and push container images over HTTP, the way docker does — every
/// request visible.
#[derive(Debug, Parser)]
#[command(name = "ch06-registry", version)]
struct Cli {
    /// The image store (chapter 05's).
    #[arg(long, global = true, value_name = "DIR", default_value = ch05_images::store::DEFAULT_ROOT)]
    root: PathBuf,
    /// Allow plain http and unverified TLS for this registry (HOST[:PORT]); repeatable.
    /// Loopback (localhost, 127.0.0.0/8, ::1) speaks plain http without it.
    #[arg(long, global = true, value_name = "REGISTRY")]
    insecure: Vec<String>,
    /// Print every HTTP request and response (secrets redacted).
    #[arg(long, global = true)]
    trace_http: bool,
    /// Print the curl command for every request, to replay it by hand.
    #[arg(long, global = true)]
    curl: bool,
    /// A mirror tried before Docker Hub (URL), or before another registry
    /// (REGISTRY=URL); repeatable.
    #[arg(long, global = true, value_name = "URL")]
    registry_mirror: Vec<String>,
    /// Settings shaped like docker's daemon.json: "registry-mirrors", "mirrors",
    /// "insecure-registries".
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "/etc/minibox/registries.json"
    )]
    registries_config: PathBuf,
    #[command(flatten)]
    narration: NarrationFlags,
    #[command(subcommand)]
    command: Command,
}

/// Credentials for this run only (not saved).
#[derive(Debug, Clone, clap::Args)]
struct LoginFlags {
    /// The user name (with --password-stdin; or MINIBOX_REGISTRY_USER).
    #[arg(long, short)]
    username: Option<String>,
    /// Read the password (or access token) from standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download an image into the store (like `docker pull`).
    Pull {
        /// The image: busybox, alpine:3.20, localhost:5000/x:y, ghcr.io/o/i@sha256:…
        reference: String,
        /// The platform to pick from a multi-platform index (default: this machine's).
        #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
        platform: Option<String>,
        /// Blobs downloaded at once.
        #[arg(long, value_name = "N", default_value_t = 3)]
        max_concurrent_downloads: usize,
        #[command(flatten)]
        login: LoginFlags,
    },
    /// Upload an image from the store to a registry (like `docker push`).
    Push {
        /// The image in the store.
        reference: String,
        /// Where to push it (default: REFERENCE itself).
        destination: Option<String>,
        #[command(flatten)]
        login: LoginFlags,
    },
    /// Check credentials with the registry and save them (docker's config.json).
    Login {
        /// HOST[:PORT] (docker.io for Docker Hub).
        registry: String,
        #[command(flatten)]
        login: LoginFlags,
    },
    /// Forget the saved credentials of a registry.
    Logout { registry: String },
    /// List a repository's tags.
    Tags {
        /// e.g. library/busybox, localhost:5000/x
        repository: String,
        #[command(flatten)]
        login: LoginFlags,
    },
    /// Print a manifest or index as the registry sends it (raw JSON).
    Manifest {
        reference: String,
        #[command(flatten)]
        login: LoginFlags,
    },
}

fn main() {
    let cli = Cli::parse();
    exit_with::<RegistryError>("ch06-registry", run(cli), RegistryError::exit_code)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let narrator = cli.narration.narrator("ch06");
    let settings = load_settings(&cli.registries_config)?;
    let mut mirrors = settings.mirrors.clone();
    for flag in &cli.registry_mirror {
        mirrors.add_flag(flag)?;
    }
    let mut insecure = settings.insecure.clone();
    insecure.extend(cli.insecure.iter().cloned());
    let display = Display::new(narrator.clone());
    let options = TransportOptions {
        insecure,
        trace_http: cli.trace_http,
        curl: cli.curl,
        ..Default::default()
    };
    let docker_config = credentials::config_path().ok();
    let quiet = narrator.verbosity() == ch01_chroot::Verbosity::Quiet;
    let tracer = display.tracer().with_notes(!quiet);
    let client = Client::new(&options, tracer, docker_config.clone());

    match &cli.command {
        Command::Pull {
            reference,
            platform,
            max_concurrent_downloads,
            login,
        } => {
            let reference = parse_reference(reference)?;
            given_credentials(&client, &registry_host(&reference), login)?;
            let platform = match platform {
                Some(p) => Platform::parse(p)?,
                None => Platform::host(),
            };
            let options = PullOptions {
                platform: platform.clone(),
                max_concurrent_downloads: *max_concurrent_downloads,
                mirrors,
            };
            narrator.step(&format!("pulling {reference} for {platform}"));
            let store = open_store(&cli, &narrator)?;
            let watch = |event| display.pull_event(event);
            let pulled = pull(&client, &store, &reference, &options, &watch)?;
            let status = if display.downloaded.load(Ordering::Relaxed) {
                "Downloaded newer image for"
            } else {
                "Image is up to date for"
            };
            display.summary(&format!("Digest: {}", pulled.digest));
            display.summary(&format!("Status: {status} {}", reference.familiar()));
            narrator.observe(&format!(
                "{} layer(s) unpacked in {}; image ID {}",
                pulled.image.layer_digests.len(),
                store.root().display(),
                pulled.image.config_digest.short()
            ));
            stdout_line(&reference.to_string())
        }
        Command::Push {
            reference,
            destination,
            login,
        } => {
            let source = parse_reference(reference)?;
            let destination = match destination {
                Some(d) => parse_reference(d)?,
                None => source.clone(),
            };
            given_credentials(&client, &registry_host(&destination), login)?;
            let store = open_store(&cli, &narrator)?;
            narrator.step(&format!("pushing {source} to {destination}"));
            let pushed = push(&client, &store, &source, &destination, &|e| {
                display.push_event(e)
            })?;
            // docker's last line, word for word.
            display.summary(&format!(
                "{}: digest: {} size: {}",
                pushed.tag, pushed.digest, pushed.size
            ));
            stdout_line(&destination.with_digest(pushed.digest).to_string())
        }
        Command::Login { registry, login } => {
            login::login(&client, registry, login, docker_config, &narrator)
        }
        Command::Logout { registry } => login::logout(registry, docker_config, &narrator),
        Command::Tags { repository, login } => {
            let reference = parse_reference(repository)?;
            let registry = registry_host(&reference);
            given_credentials(&client, &registry, login)?;
            let endpoint = client.ping(&registry)?;
            let tags = client.tags(&Remote::pull(&endpoint, reference.repository()))?;
            stdout_line(&tags.join("\n"))
        }
        Command::Manifest { reference, login } => {
            let reference = parse_reference(reference)?;
            let registry = registry_host(&reference);
            given_credentials(&client, &registry, login)?;
            let endpoint = client.ping(&registry)?;
            let wanted = match (reference.digest(), reference.tag()) {
                (Some(digest), _) => digest.to_string(),
                (None, tag) => tag.unwrap_or("latest").to_string(),
            };
            let manifest =
                client.get_manifest(&Remote::pull(&endpoint, reference.repository()), &wanted)?;
            narrator.detail(&format!("{} ({})", manifest.digest, manifest.media_type));
            // The bytes exactly as served (their sha256 is the digest); a
            // newline only for a terminal's sake.
            use std::io::IsTerminal;
            let mut stdout = std::io::stdout().lock();
            let newline: &[u8] = if stdout.is_terminal() { b"\n" } else { b"" };
            stdout
                .write_all(&manifest.bytes)
                .and_then(|()| stdout.write_all(newline))
                .context("writing to stdout")?;
            Ok(0)
        }
    }
}

fn parse_reference(text: &str) -> anyhow::Result<Reference> {
    Ok(Reference::parse(text)?)
}

fn open_store(cli: &Cli, narrator: &ch01_chroot::Narrator) -> anyhow::Result<Store> {
    Store::open_with(&cli.root, narrator.clone())
        .with_context(|| format!("opening the image store {}", cli.root.display()))
}

/// Credentials from the flags or the environment, for this run's registry.
fn given_credentials(client: &Client, registry: &str, flags: &LoginFlags) -> anyhow::Result<()> {
    if let Some(credentials) = login::given(flags)? {
        client.auth.set_credentials(registry, credentials);
    }
    Ok(())
}

/// Prints a line on stdout (for scripts); a closed stdout is an error, not a panic.
fn stdout_line(text: &str) -> anyhow::Result<i32> {
    if !text.is_empty() {
        writeln!(std::io::stdout().lock(), "{text}").context("writing to stdout")?;
    }
    Ok(0)
}
