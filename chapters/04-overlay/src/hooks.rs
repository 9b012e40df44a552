//! Plugging the overlay into chapter 02's container: the `prepare_rootfs` hook.
//!
//! Chapter 02 calls `prepare_rootfs` in the child, inside the container's new
//! mount namespace, just before pivot_root. Mounting the overlay *there* means
//! the mount exists only in the container's mount table: the host never sees
//! it, and when the last process of the container exits the namespace — and
//! the overlay with it — is torn down by the kernel. No cleanup path can
//! forget to unmount, because there is nothing to unmount.

use crate::mount::mount_overlay;
use crate::options::{MountPlan, PathForm};
use crate::OverlayError;
use ch01_chroot::trainer::{pause, HostCommand};
use ch01_chroot::Narrator;
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::Cgroup;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Mounts the overlay as the container's root; joins the container's
/// cgroup if given one, and passes the other hooks on to `inner`.
pub struct OverlayRootfs<'a> {
    plan: MountPlan,
    target: PathBuf,
    narrator: Narrator,
    pause: bool,
    cgroup: Option<&'a Cgroup>,
    inner: Option<&'a mut dyn Hooks>,
}

impl std::fmt::Debug for OverlayRootfs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlayRootfs")
            .field("plan", &self.plan)
            .field("target", &self.target)
            .field("pause", &self.pause)
            .field("cgroup", &self.cgroup.is_some())
            .field("inner", &self.inner.is_some())
            .finish()
    }
}

impl<'a> OverlayRootfs<'a> {
    /// The overlay of `plan`, mounted on `target` (the state dir's `merged/`).
    pub fn new(plan: MountPlan, target: PathBuf, narrator: Narrator) -> Self {
        OverlayRootfs {
            plan,
            target,
            narrator,
            pause: false,
            cgroup: None,
            inner: None,
        }
    }

    /// Chapter 03's cgroup, joined by the init while it waits at the gate
    /// (before any inner `child_created`): the command never runs outside it.
    pub fn with_cgroup(mut self, cgroup: Option<&'a Cgroup>) -> Self {
        self.cgroup = cgroup;
        self
    }

    /// Trainer mode: stop right after the mount, inside the container.
    pub fn with_pause(mut self, pause: bool) -> Self {
        self.pause = pause;
        self
    }

    /// Other hooks to run too: their `child_created`, `command_ready` and
    /// `before_exec`. The
    /// rootfs is ours: an inner `prepare_rootfs` (by default, binding the
    /// rootfs onto itself) would mount over the overlay we just made.
    pub fn with_inner(mut self, inner: &'a mut dyn Hooks) -> Self {
        self.inner = Some(inner);
        self
    }
}

impl Hooks for OverlayRootfs<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        if let Some(cgroup) = self.cgroup {
            cgroup.join(pid).map_err(ch03_cgroups::hook::hook_error)?;
        }
        match self.inner.as_mut() {
            Some(inner) => inner.child_created(pid),
            None => Ok(()),
        }
    }

    fn command_ready(&mut self, init: Pid) -> Result<(), HookError> {
        match self.inner.as_mut() {
            Some(inner) => inner.command_ready(init),
            None => Ok(()),
        }
    }

    fn before_exec(&self) -> Result<(), HookError> {
        match self.inner.as_ref() {
            Some(inner) => inner.before_exec(),
            None => Ok(()),
        }
    }

    // ANCHOR: prepare_rootfs
    fn prepare_rootfs(&self, _rootfs: &Path) -> Result<PathBuf, HookError> {
        let shown = match &self.plan.form {
            PathForm::Absolute => self.plan.options.clone(),
            PathForm::ShortLinks { base } => {
                format!("{} (from {})", self.plan.options, base.display())
            }
        };
        self.narrator.syscall(
            &format!("mount(\"overlay\", {:?}, \"overlay\", 0, …)", self.target),
            "in the container's mount namespace: the host never sees this mount",
        );
        self.narrator.detail(&format!(
            "options ({} bytes): {shown}",
            self.plan.options.len()
        ));
        // Named by its layers (bottom first, as given): merged/ and upper/
        // are deleted by the time the learner reads the error.
        let layers: Vec<String> = self
            .plan
            .lowers
            .iter()
            .rev()
            .map(|l| l.display().to_string())
            .collect();
        let step = format!("mounting the overlay of the layers {}", layers.join(" + "));
        mount_overlay(&self.plan, &self.target).map_err(|err| match &err {
            OverlayError::Mount { errno, hint, .. } => HookError::new(&step, Some(*errno), *hint),
            other => HookError::new(&step, None, other.to_string()),
        })?;
        if self.pause {
            self.pause_inside();
        }
        // chapter 02 pivot_roots into the mount point we return.
        Ok(self.target.clone())
    }
    // ANCHOR_END: prepare_rootfs
}

impl OverlayRootfs<'_> {
    fn pause_inside(&self) {
        // Our /proc is still the host's here (chapter 02 mounts the
        // container's own /proc after pivot_root), so /proc/self names our
        // host PID even inside a new PID namespace.
        let pid = std::fs::read_link("/proc/self")
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "PID".into());
        let upper = self.plan.upper.display();
        let target = self.target.display();
        pause(
            &format!("the overlay is mounted inside container PID {pid}, before pivot_root"),
            &[
                HostCommand::new(
                    format!("findmnt -N {pid} {target}"),
                    "the overlay, in the container's mount namespace",
                ),
                HostCommand::new(
                    format!("findmnt {target}"),
                    "nothing: the host's mount table never had it",
                ),
                HostCommand::new(
                    format!("ls -la {upper}"),
                    "the writable layer: empty until the container writes",
                ),
                HostCommand::new(
                    format!("grep overlay /proc/{pid}/mountinfo"),
                    "lowerdir, upperdir, workdir as the kernel recorded them",
                ),
            ],
        );
    }
}
