//! Plugging the network into chapter 02's container.
//!
//! `child_created` runs in the parent while the child waits at the gate:
//! its network namespace exists (clone made it), nothing runs in it yet.
//! That is when we plumb it — the command's first instruction already sees
//! eth0. `prepare_rootfs` runs in the child before pivot_root: there the
//! /etc files are bind-mounted over the image's.

use crate::attach::{attach, AttachRequest, Attachment, NetworkConfig};
use crate::etc_files::{bind_into, EtcFiles};
use crate::netns::{NetnsRef, Owner};
use ch01_chroot::Narrator;
use ch02_namespaces::{HookError, Hooks};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Connects the container to a bridge network; passes every hook on to
/// `inner` too (chapter 03's cgroup, chapter 04's overlay).
pub struct ConnectToBridge<'a> {
    config: NetworkConfig,
    request: AttachRequest,
    /// Known before clone(2): the child, a copy of us from that moment, mounts them.
    etc_files: EtcFiles,
    narrator: Narrator,
    attachment: Option<Attachment>,
    inner: Option<&'a mut dyn Hooks>,
}

impl std::fmt::Debug for ConnectToBridge<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectToBridge")
            .field("config", &self.config)
            .field("request", &self.request)
            .field("attachment", &self.attachment)
            .field("inner", &self.inner.is_some())
            .finish()
    }
}

impl<'a> ConnectToBridge<'a> {
    /// `request.netns` and `owner` are filled in when the child exists.
    pub fn new(config: NetworkConfig, request: AttachRequest, narrator: Narrator) -> Self {
        let etc_files = config.etc_files_for(&request.name);
        ConnectToBridge {
            config,
            request,
            etc_files,
            narrator,
            attachment: None,
            inner: None,
        }
    }

    pub fn with_inner(mut self, inner: &'a mut dyn Hooks) -> Self {
        self.inner = Some(inner);
        self
    }

    /// The attachment, once `child_created` made it — take it whether
    /// `spawn` succeeded or not, and detach it when the container is gone.
    pub fn take_attachment(&mut self) -> Option<Attachment> {
        self.attachment.take()
    }
}

impl Hooks for ConnectToBridge<'_> {
    // ANCHOR: child_created
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        if let Some(inner) = self.inner.as_mut() {
            inner.child_created(pid)?;
        }
        self.narrator.step(&format!(
            "PID {pid} waits at the gate in a network namespace with only lo: plumbing it now"
        ));
        let request = AttachRequest {
            netns: NetnsRef::Pid(pid.as_raw()),
            owner: Owner::of(pid),
            ..self.request.clone()
        };
        let attachment = attach(&self.config, &request, &self.narrator).map_err(|e| {
            HookError::new(
                "connecting the container to its network",
                None,
                e.to_string(),
            )
        })?;
        self.attachment = Some(attachment);
        Ok(())
    }
    // ANCHOR_END: child_created

    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        let root = match self.inner.as_deref() {
            Some(inner) => inner.prepare_rootfs(rootfs)?,
            None => ch02_namespaces::hooks::bind_rootfs(rootfs)?,
        };
        bind_into(&root, &self.etc_files, &self.narrator)?;
        Ok(root)
    }

    fn command_ready(&mut self, init: Pid) -> Result<(), HookError> {
        match self.inner.as_mut() {
            Some(inner) => inner.command_ready(init),
            None => Ok(()),
        }
    }

    fn before_exec(&self) -> Result<(), HookError> {
        match self.inner.as_deref() {
            Some(inner) => inner.before_exec(),
            None => Ok(()),
        }
    }
}
