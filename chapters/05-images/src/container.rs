//! `run`: an image from the store, started by chapters 02–04 — the image's
//! layers as overlay lowers (chapter 04), its config as the process
//! (chapter 02's spawn), and with a limit its own cgroup (chapter 03).

use anyhow::{bail, Context};
use ch01_chroot::forward::{catch_stop_signals, forward_to};
use ch01_chroot::trainer::{pause, HostCommand};
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, HookError, Hooks, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::{CgroupLayout, Placement};
use ch04_overlay::{OverlayContainer, XattrNamespace};
use ch05_images::run::{process_config, ProcessConfig};
use ch05_images::{Reference, Store};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use std::path::PathBuf;

/// What `ch05-images run` was asked.
#[derive(Debug)]
pub struct RunRequest<'a> {
    pub image: &'a Reference,
    pub name: &'a str,
    pub limits: &'a LimitFlags,
    pub pause: bool,
    pub command: &'a [String],
}

/// The image's numeric User, taken on just before exec (chapter 04's
/// container runs this hook after its own).
struct ImageUser {
    user: Option<(u32, u32)>,
}

impl Hooks for ImageUser {
    // ANCHOR: user
    fn before_exec(&self) -> Result<(), HookError> {
        let Some((uid, gid)) = self.user else {
            return Ok(());
        };
        let fail = |step: &str, errno| {
            HookError::new(step, Some(errno), "the image's User could not be taken on")
        };
        // Groups first: once we are not root we may no longer change them.
        setgroups(&[]).map_err(|e| fail("setgroups([])", e))?;
        let gid = Gid::from_raw(gid);
        setresgid(gid, gid, gid).map_err(|e| fail("setresgid", e))?;
        let uid = Uid::from_raw(uid);
        setresuid(uid, uid, uid).map_err(|e| fail("setresuid", e))
    }
    // ANCHOR_END: user
}

// ANCHOR: spec
/// The container chapter 02 starts: the image's process in every namespace
/// that makes sense without more set-up (no user namespace: the layers are
/// owned by the IDs in the tar, i.e. host root).
fn spec_for(
    name: &str,
    rootfs: PathBuf,
    process: &ProcessConfig,
    own_cgroup: bool,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, rootfs, process.argv.clone());
    spec.namespaces = Namespaces {
        mount: true,
        pid: true,
        uts: true,
        ipc: true,
        net: true,
        cgroup: own_cgroup,
        ..Namespaces::none()
    };
    let mut env = process.env.clone();
    for (key, value) in [
        ("HOSTNAME", name.to_string()),
        ("HOME", "/root".to_string()),
    ] {
        if !env.iter().any(|(k, _)| k == key) {
            env.push((key.to_string(), value));
        }
    }
    spec.env = env;
    spec.workdir = process.workdir.as_ref().map(PathBuf::from);
    spec
}
// ANCHOR_END: spec

pub fn run(store: &Store, request: &RunRequest, narrator: &Narrator) -> anyhow::Result<i32> {
    if !nix::unistd::geteuid().is_root() {
        bail!("mounting overlayfs and creating namespaces needs root: run it with sudo");
    }
    let image = store.resolve(request.image)?;
    let process = process_config(&image.config, request.command)?;
    narrator.step(&format!(
        "{}: manifest {}, config {}; runs {:?}{}",
        image.reference.familiar(),
        image.manifest_digest.short(),
        image.config_digest.short(),
        process.argv,
        process
            .user
            .map(|(u, g)| format!(" as {u}:{g}"))
            .unwrap_or_default()
    ));
    let limits = request.limits.limits();
    let cgroup_layout = if limits.is_empty() {
        None
    } else {
        limits.validate()?;
        Some(CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?)
    };
    catch_stop_signals().context("installing signal handlers")?;

    // The container's writable layer lives with the store, one directory per
    // run, named by the container and our PID (chapter 04's lifecycle).
    // (An image without layers, FROM scratch and nothing added, gets an empty lower.)
    let lowers: Vec<PathBuf> = image.layer_dirs().into_iter().rev().collect();
    let id = format!("{}-{}", request.name, std::process::id());
    let mut container = OverlayContainer::prepare(
        &store.root().join("containers"),
        &id,
        &lowers,
        XattrNamespace::Trusted,
    )
    .context("preparing the container's writable layer and overlay mount")?
    .with_pause(request.pause);
    narrator.step(&format!(
        "overlay: {} layer(s) from the store as lowerdir (top first), upper {}",
        container.plan().lowers.len(),
        container.state().upper().display()
    ));
    if let Some(layout) = &cgroup_layout {
        let placement = Placement::new(&id, request.limits.cgroup_parent.as_deref())?;
        container
            .create_cgroup(layout, &placement, &limits, narrator)
            .context("creating the container's cgroup")?;
    }
    let spec = spec_for(
        request.name,
        container.rootfs(),
        &process,
        container.cgroup().is_some(),
    );

    let mut user = ImageUser { user: process.user };
    let running = container
        .start(&spec, Some(&mut user), narrator)
        .with_context(|| {
            format!(
                "starting {:?} from {}",
                spec.argv,
                image.reference.familiar()
            )
        })?;
    if let Err(errno) = forward_to(running.pid()) {
        let _ = running.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = running.wait();
        bail!("forwarding signals to the container: {errno} (sigprocmask/kill failed; please report it)");
    }
    let exit = running.wait().context("waiting for the container")?;
    narrator.step(&format!("command {exit}"));
    container
        .finish_cgroup(request.name, exit, narrator)
        .context("removing the container's cgroup")?;
    if request.pause {
        pause(
            "the container has exited; the store is unchanged",
            &[
                HostCommand::new(
                    format!("ls {}", container.state().upper().display()),
                    "what the container wrote: only here, in its upper layer",
                ),
                HostCommand::new(
                    format!("ls {}", store.root().join("layers/sha256").display()),
                    "the image's layers, untouched, ready for the next container",
                ),
            ],
        );
    }
    let path = container.state().path().to_path_buf();
    container
        .remove()
        .with_context(|| format!("removing {}", path.display()))?;
    Ok(exit.shell_code())
}
