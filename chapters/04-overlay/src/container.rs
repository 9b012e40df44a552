//! One container on overlay layers, from its first directory to the last
//! removal: the lifecycle chapter 04's demo, chapter 05's `run` and the
//! engine share.
//!
//! The order is the lesson, and it lives here once:
//!
//! 1. [`OverlayContainer::prepare`] — the state directory `<parent>/<id>`
//!    (upper/, work/, merged/) and the mount plan over the read-only layers;
//! 2. [`OverlayContainer::create_cgroup`] (optional) — chapter 03's cgroup,
//!    limits written, still empty;
//! 3. [`OverlayContainer::start`] — chapter 02's `spawn`: the init joins the
//!    cgroup while it waits at the gate, then mounts the overlay as its root
//!    inside its own mount namespace;
//! 4. after the exit: [`OverlayContainer::finish_cgroup`] (the counters die
//!    with the cgroup, so they are read first), then
//!    [`OverlayContainer::remove`] or [`OverlayContainer::keep`] of the state
//!    directory — never while its overlay is mounted.
//!
//! The id is known (the caller picks it), so a later process can find the
//! state directory again with [`StateDir::open`].

use crate::hooks::OverlayRootfs;
use crate::limits::finish_cgroup;
use crate::options::MountPlan;
use crate::state::StateDir;
use crate::whiteout::XattrNamespace;
use crate::OverlayError;
use ch01_chroot::{Exit, Narrator};
use ch02_namespaces::{Container, ContainerSpec, Hooks, NamespaceError};
use ch03_cgroups::{Cgroup, CgroupError, CgroupLayout, Limits, OomVerdict, Placement};
use std::path::{Path, PathBuf};

/// A container's writable layer, mount plan and (optional) cgroup, owned:
/// dropped without [`OverlayContainer::keep`], the cgroup and the state
/// directory are removed, in that order.
#[derive(Debug)]
pub struct OverlayContainer {
    id: String,
    plan: MountPlan,
    /// Declared before `state`: fields drop in order, the cgroup goes first.
    cgroup: Option<Cgroup>,
    state: StateDir,
    pause: bool,
}

impl OverlayContainer {
    /// Step 1: the state directory `<parent>/<id>` and the overlay's mount
    /// plan over `lowers` (top layer first, as overlayfs wants them). No
    /// lowers (an image FROM scratch with nothing added): an empty directory
    /// in the state directory is the one lower overlayfs needs. Fails,
    /// leaving nothing, if a container of that id already has a directory.
    pub fn prepare(
        parent: &Path,
        id: &str,
        lowers: &[PathBuf],
        xattrs: XattrNamespace,
    ) -> Result<OverlayContainer, OverlayError> {
        // `state` is removed on drop if anything below fails.
        let state = StateDir::create_named(parent, id)?;
        let empty;
        let lowers = if lowers.is_empty() {
            empty = [state.path().join("empty")];
            std::fs::create_dir(&empty[0]).map_err(OverlayError::io("creating", &empty[0]))?;
            &empty[..]
        } else {
            lowers
        };
        let plan = MountPlan::prepare(lowers, &state, xattrs)?;
        Ok(OverlayContainer {
            id: id.to_string(),
            plan,
            cgroup: None,
            state,
            pause: false,
        })
    }

    /// Step 2: a cgroup of its own with `limits` written, empty until the
    /// container's init joins it in [`OverlayContainer::start`].
    pub fn create_cgroup(
        &mut self,
        layout: &CgroupLayout,
        placement: &Placement,
        limits: &Limits,
        narrator: &Narrator,
    ) -> Result<&Cgroup, CgroupError> {
        let cgroup = Cgroup::create(layout, placement, limits, narrator)?;
        Ok(self.cgroup.insert(cgroup))
    }

    /// Trainer mode of chapter 04's demo: stop right after the mount,
    /// inside the container (see [`OverlayRootfs::with_pause`]).
    pub fn with_pause(mut self, pause: bool) -> Self {
        self.pause = pause;
        self
    }

    /// The id the state directory is named by.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn state(&self) -> &StateDir {
        &self.state
    }

    pub fn plan(&self) -> &MountPlan {
        &self.plan
    }

    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// Where the overlay is mounted: the `rootfs` of the container's spec.
    pub fn rootfs(&self) -> PathBuf {
        self.state.merged()
    }

    /// Gives the state directory to the container's root user (host
    /// `uid`/`gid`), for a container in a user namespace.
    pub fn hand_over(&self, uid: u32, gid: u32) -> Result<(), OverlayError> {
        self.state.hand_over(uid, gid)
    }

    // ANCHOR: start
    /// Step 3: chapter 02's `spawn` of `spec` (whose rootfs is
    /// [`OverlayContainer::rootfs`]). While the init waits at the gate it
    /// joins the cgroup, so the command never runs outside its limits; then
    /// the overlay becomes its root. `inner` hooks run too: their
    /// `child_created` after the cgroup join, `command_ready` and `before_exec`.
    pub fn start(
        &self,
        spec: &ContainerSpec,
        inner: Option<&mut dyn Hooks>,
        narrator: &Narrator,
    ) -> Result<Container, NamespaceError> {
        let mut hooks = OverlayRootfs::new(self.plan.clone(), self.rootfs(), narrator.clone())
            .with_pause(self.pause)
            .with_cgroup(self.cgroup.as_ref());
        if let Some(inner) = inner {
            hooks = hooks.with_inner(inner);
        }
        ch02_namespaces::spawn(spec, &mut hooks, narrator)
    }
    // ANCHOR_END: start

    /// Step 4a, once the container ended: reads the cgroup's counters (they
    /// die with it), says whether the OOM killer struck, removes the cgroup.
    /// `None` when the container had no cgroup. `name` is how the
    /// narration calls the container.
    pub fn finish_cgroup(
        &mut self,
        name: &str,
        exit: Exit,
        narrator: &Narrator,
    ) -> Result<Option<OomVerdict>, CgroupError> {
        match self.cgroup.take() {
            Some(cgroup) => finish_cgroup(cgroup, name, exit, narrator).map(Some),
            None => Ok(None),
        }
    }

    /// Step 4b: the cgroup (if [`OverlayContainer::finish_cgroup`] did not
    /// already), then the state directory — refused while merged/ is mounted.
    pub fn remove(mut self) -> Result<(), OverlayError> {
        drop(self.cgroup.take());
        let OverlayContainer { state, .. } = self;
        state.remove()
    }

    /// Step 4b, the other way: the state directory stays (its owner file
    /// goes, so it is no leftover to sweep). Returns its path.
    pub fn keep(mut self) -> PathBuf {
        drop(self.cgroup.take());
        let OverlayContainer { mut state, .. } = self;
        state.keep();
        state.path().to_path_buf()
    }
}
