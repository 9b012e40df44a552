//! `run`: an image from the store, started by chapters 02–04 — the image's
//! layers as overlay lowers (chapter 04), its config as the process
//! (chapter 02's spawn), and with a limit its own cgroup (chapter 03).

use anyhow::{bail, Context};
use ch01_chroot::forward::{catch_stop_signals, forward_to};
use ch01_chroot::trainer::{pause, HostCommand};
use ch01_chroot::Narrator;
use ch02_namespaces::{ContainerSpec, HookError, Hooks, Namespaces};
use ch03_cgroups::cli::LimitFlags;
use ch03_cgroups::{Cgroup, CgroupLayout, JoinCgroup, Placement};
use ch04_overlay::limits::finish_cgroup;
use ch04_overlay::{MountPlan, OverlayRootfs, StateDir, XattrNamespace};
use ch05_images::run::{process_config, ProcessConfig};
use ch05_images::{Reference, Store};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Pid, Uid};
use std::path::{Path, PathBuf};

/// What `ch05-images run` was asked.
#[derive(Debug)]
pub struct RunRequest<'a> {
    pub image: &'a Reference,
    pub name: &'a str,
    pub limits: &'a LimitFlags,
    pub pause: bool,
    pub command: &'a [String],
}

/// Chapter 04's overlay hooks, plus the image's numeric User applied just before exec.
struct ImageHooks<'a> {
    overlay: OverlayRootfs<'a>,
    user: Option<(u32, u32)>,
}

impl Hooks for ImageHooks<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.overlay.child_created(pid)
    }

    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        self.overlay.prepare_rootfs(rootfs)
    }

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
    state: &StateDir,
    process: &ProcessConfig,
    own_cgroup: bool,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(name, state.merged(), process.argv.clone());
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
    let cgroup = if limits.is_empty() {
        None
    } else {
        limits.validate()?;
        let layout =
            CgroupLayout::detect().context("reading /proc/self/mountinfo and /proc/self/cgroup")?;
        let placement = Placement::new(
            &format!("{}-{}", request.name, std::process::id()),
            request.limits.cgroup_parent.as_deref(),
        )?;
        Some(
            Cgroup::create(&layout, &placement, &limits, narrator)
                .context("creating the container's cgroup")?,
        )
    };
    catch_stop_signals().context("installing signal handlers")?;

    // The container's writable layer lives with the store, one directory per run.
    let state_parent = store.root().join("containers");
    let state = StateDir::create(&state_parent, &format!("{}-", request.name))
        .context("creating the container's state directory")?;
    let lowers: Vec<PathBuf> = image.layer_dirs().into_iter().rev().collect();
    narrator.step(&format!(
        "overlay: {} layer(s) from the store as lowerdir (top first), upper {}",
        lowers.len(),
        state.upper().display()
    ));
    // An image without layers (FROM scratch and nothing added) still needs a lower.
    let empty = state.path().join("empty");
    let lowers = if lowers.is_empty() {
        std::fs::create_dir(&empty).context("creating an empty lower layer")?;
        vec![empty]
    } else {
        lowers
    };
    let plan = MountPlan::prepare(&lowers, &state, XattrNamespace::Trusted)
        .context("preparing the overlay mount")?;
    let spec = spec_for(request.name, &state, &process, cgroup.is_some());

    let mut join = cgroup.as_ref().map(|cgroup| JoinCgroup { cgroup });
    let mut overlay =
        OverlayRootfs::new(plan, state.merged(), narrator.clone()).with_pause(request.pause);
    if let Some(join) = join.as_mut() {
        overlay = overlay.with_inner(join);
    }
    let mut hooks = ImageHooks {
        overlay,
        user: process.user,
    };
    let container = ch02_namespaces::spawn(&spec, &mut hooks, narrator).with_context(|| {
        format!(
            "starting {:?} from {}",
            spec.argv,
            image.reference.familiar()
        )
    })?;
    if let Err(errno) = forward_to(container.pid()) {
        let _ = container.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = container.wait();
        bail!("forwarding signals to the container: {errno} (sigprocmask/kill failed; please report it)");
    }
    let exit = container.wait().context("waiting for the container")?;
    narrator.step(&format!("command {exit}"));
    if let Some(cgroup) = cgroup {
        finish_cgroup(cgroup, request.name, exit, narrator)
            .context("removing the container's cgroup")?;
    }
    if request.pause {
        pause(
            "the container has exited; the store is unchanged",
            &[
                HostCommand::new(
                    format!("ls {}", state.upper().display()),
                    "what the container wrote: only here, in its upper layer",
                ),
                HostCommand::new(
                    format!("ls {}", store.root().join("layers/sha256").display()),
                    "the image's layers, untouched, ready for the next container",
                ),
            ],
        );
    }
    let path = state.path().to_path_buf();
    state
        .remove()
        .with_context(|| format!("removing {}", path.display()))?;
    Ok(exit.shell_code())
}
