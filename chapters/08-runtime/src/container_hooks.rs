//! The OCI config, plugged into chapter 02's three extension points.
//!
//! - `child_created` (host side, the container waiting at its first gate):
//!   join the cgroup, record the PID in state.json, run the prestart and
//!   createRuntime hooks;
//! - `prepare_rootfs` (in the container's mount namespace, before
//!   pivot_root): bind the rootfs, make the config's mounts and devices by
//!   descriptor inside it, run createContainer hooks;
//! - `before_exec` (in the container's process, after pivot_root): sysctls,
//!   masks, identity, capabilities, the terminal.

use crate::config::Plan;
use crate::mounts::CgroupView;
use crate::recorder::Recorder;
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::devices::DeviceCgroup;
use ch03_cgroups::Cgroup;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::mount;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// The hooks of one container.
pub struct OciHooks<'a> {
    pub plan: &'a Plan,
    pub cgroup: &'a Cgroup,
    /// Chapter 07's device rules, enforced by chapter 03's device cgroup.
    pub devices: &'a DeviceCgroup,
    pub recorder: Recorder<'a>,
    pub narrator: &'a ch01_chroot::Narrator,
}

impl std::fmt::Debug for OciHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciHooks")
            .field("container", &self.plan.container.name)
            .finish()
    }
}

fn step_error(step: String, errno: Errno, what_to_do: &str) -> HookError {
    HookError::new(step, Some(errno), what_to_do)
}

impl Hooks for OciHooks<'_> {
    // ANCHOR: child_created
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.cgroup
            .join(pid)
            .map_err(ch03_cgroups::hook::hook_error)?;
        // The device rules, enforced from the first instruction on.
        self.devices
            .join(pid)
            .map_err(ch03_cgroups::hook::hook_error)?;
        for (file, value) in &self.plan.unified {
            self.cgroup.write_unified(file, value).map_err(|e| {
                HookError::new("writing linux.resources.unified", None, e.to_string())
            })?;
        }
        // From here on a `delete --force` finds the process, whatever happens to us.
        self.recorder
            .record_pid(pid)
            .map_err(|e| HookError::new("recording the container's PID", None, e.to_string()))?;
        let state = self.recorder.hook_state("creating", Some(pid));
        if let Some(hooks) = self.plan.spec.hooks() {
            for (stage, list) in [
                ("prestart", hooks.prestart()),
                ("createRuntime", hooks.create_runtime()),
            ] {
                crate::hooks::run_all(stage, list.as_deref().unwrap_or(&[]), &state).map_err(
                    |e| HookError::new(format!("the {stage} hooks"), None, e.to_string()),
                )?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: child_created

    // ANCHOR: prepare_rootfs_mounts
    fn prepare_rootfs(&self, rootfs: &Path) -> Result<PathBuf, HookError> {
        let root = ch02_namespaces::hooks::bind_rootfs(rootfs)?;
        // Opened after the bind: the descriptor is the root of the new mount.
        let root_fd = nix::fcntl::open(
            &root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| {
            step_error(
                format!("opening {}", root.display()),
                e,
                "the rootfs must be a directory",
            )
        })?;
        let view = cgroup_view(self.cgroup);
        for step in &self.plan.mounts {
            crate::mounts::apply(step, &root_fd, &view).map_err(|(what, errno)| {
                step_error(what, errno, "check this entry of config.json's mounts (source exists? type known to this kernel?)")
            })?;
            self.narrator.syscall(
                &format!("mount({}, {})", step.kind, step.destination.display()),
                "a mount of config.json, its target resolved inside the rootfs, mounted through /proc/self/fd/N",
            );
        }
        // ANCHOR_END: prepare_rootfs_mounts
        // ANCHOR: prepare_rootfs_devices
        self.narrator.syscall(
            "mknodat(/dev/null, zero, full, random, urandom, tty) + links",
            "the devices every OCI container gets, and linux.devices",
        );
        crate::devices::populate(
            &root_fd,
            &self.plan.devices,
            self.plan.container.namespaces.user,
        )
        .map_err(|(what, errno)| {
            step_error(
                what,
                errno,
                "check linux.devices and that /dev is a mount (tmpfs) in config.json",
            )
        })?;
        if let Some(hooks) = self.plan.spec.hooks() {
            let state = self
                .recorder
                .hook_state("creating", Some(nix::unistd::getpid()));
            crate::hooks::run_all(
                "createContainer",
                hooks.create_container().as_deref().unwrap_or(&[]),
                &state,
            )
            .map_err(|e| HookError::new("the createContainer hooks", None, e.to_string()))?;
        }
        Ok(root)
    }
    // ANCHOR_END: prepare_rootfs_devices

    // ANCHOR: before_exec
    fn before_exec(&self) -> Result<(), HookError> {
        let fail = |(what, errno): (String, Errno)| {
            step_error(
                what,
                errno,
                "check config.json's process and linux sections",
            )
        };
        // A signal mask survives execve: the program starts with none blocked.
        nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        )
        .map_err(|e| step_error("sigprocmask".into(), e, "unexpected"))?;
        // linux.rootfsPropagation, on the container's "/" after pivot_root:
        // pivot_root refuses a shared root, and chapter 02 made the tree
        // rprivate first, so no setting here can reach the host.
        if let Some(propagation) = self.plan.rootfs_propagation {
            mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>).map_err(|e| {
                step_error(
                    "setting linux.rootfsPropagation on /".into(),
                    e,
                    "use private, slave or shared (and their r- forms)",
                )
            })?;
        }
        // Still root, /proc/sys still writable: sysctls, the terminal, the OOM score.
        crate::sysctl::write_all(&self.plan.sysctl).map_err(fail)?;
        self.plan.process.apply().map_err(fail)?;
        crate::process::close_fds_on_exec().map_err(fail)?;
        // Then chapter 07, in its order: paths, rlimits, seccomp, capabilities, user, no_new_privs.
        self.plan
            .restrictions
            .apply(self.narrator)
            .map_err(ch07_security::hooks::hook_error)
    }
    // ANCHOR_END: before_exec
}

/// The container's own cgroup directories, for a `cgroup` mount.
fn cgroup_view(cgroup: &Cgroup) -> CgroupView {
    use ch03_cgroups::Version;
    let v1: Vec<(String, PathBuf)> = cgroup
        .dirs()
        .iter()
        .filter(|d| d.version == Version::V1)
        .map(|d| (d.controllers.join(","), d.path.clone()))
        .collect();
    let v2 = cgroup
        .dirs()
        .iter()
        .find(|d| d.version == Version::V2)
        .map(|d| d.path.clone());
    CgroupView {
        unified: v1.is_empty(),
        v1,
        v2,
    }
}
