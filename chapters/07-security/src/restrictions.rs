//! One value for everything that limits what a container may do, and the
//! order in which it is applied.

use crate::capabilities::{self, CapabilitySets};
use crate::devices::{self, DeviceNode};
use crate::error::SecurityError;
use crate::paths::{self, Outcome};
use crate::rlimits::Rlimit;
use crate::seccomp::Seccomp;
use crate::seccomp_default;
use crate::user::{self, User};
use ch01_chroot::Narrator;
use ch03_cgroups::devices::{Access, DeviceKind, DeviceRule};
use std::path::{Path, PathBuf};

/// Which seccomp profile: docker's `--security-opt seccomp=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeccompChoice {
    /// The built-in profile (docker's, in effect).
    Default,
    /// No filter at all.
    Unconfined,
    /// An OCI `linux.seccomp` JSON file.
    File(PathBuf),
}

impl std::str::FromStr for SeccompChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "default" => SeccompChoice::Default,
            "unconfined" => SeccompChoice::Unconfined,
            path => SeccompChoice::File(PathBuf::from(path)),
        })
    }
}

// ANCHOR: restrictions
/// What the container's command may do, decided before it starts.
/// Built on the host ([`Restrictions::docker_default`], `from_flags`,
/// [`Restrictions::from_oci`]), checked there ([`Restrictions::check`]),
/// applied in the command's process just before execve ([`Restrictions::apply`]).
#[derive(Debug, Clone)]
pub struct Restrictions {
    pub capabilities: CapabilitySets,
    /// Compiled already: a bad profile fails before anything exists.
    pub seccomp: Option<Seccomp>,
    /// prctl(PR_SET_NO_NEW_PRIVS): execve can never add privileges again.
    pub no_new_privileges: bool,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// For the device cgroup (chapter 03's `DeviceCgroup`).
    pub device_rules: Vec<DeviceRule>,
    /// Extra nodes to create in /dev (`--privileged`: the host's).
    pub device_nodes: Vec<DeviceNode>,
    pub user: User,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    /// `--privileged`: all of the above switched off, /sys writable.
    pub privileged: bool,
}
// ANCHOR_END: restrictions

impl Restrictions {
    /// `docker run`'s defaults, as root.
    pub fn docker_default() -> Result<Restrictions, SecurityError> {
        let capabilities = CapabilitySets::docker_default();
        let seccomp = Seccomp::compile(seccomp_default::docker_default(&capabilities.bounding))?;
        Ok(Restrictions {
            capabilities,
            seccomp: Some(seccomp),
            no_new_privileges: false,
            masked_paths: paths::docker_masked(),
            readonly_paths: paths::docker_readonly(),
            device_rules: devices::default_rules(),
            device_nodes: Vec::new(),
            user: User::root(),
            umask: None,
            rlimits: Vec::new(),
            privileged: false,
        })
    }

    /// `docker run --privileged`: every capability, no seccomp, nothing
    /// masked or read-only, every device of the host. Namespaces remain —
    /// and that is all that remains.
    pub fn privileged() -> Restrictions {
        Restrictions {
            capabilities: CapabilitySets::all(),
            seccomp: None,
            no_new_privileges: false,
            masked_paths: Vec::new(),
            readonly_paths: Vec::new(),
            device_rules: devices::allow_all(),
            device_nodes: devices::host_device_nodes(),
            user: User::root(),
            umask: None,
            rlimits: Vec::new(),
            privileged: true,
        }
    }

    // ANCHOR: from_flags
    /// docker's flags: `--cap-add/--cap-drop`, `--security-opt seccomp=`,
    /// `--security-opt no-new-privileges`, `--user`, `--group-add`,
    /// `--ulimit`, `--privileged` (which wins over the rest, as in docker).
    pub fn from_flags(
        flags: &crate::cli::SecurityFlags,
        rootfs: &Path,
    ) -> Result<Restrictions, SecurityError> {
        let user = user::resolve(rootfs, flags.user.as_deref(), &flags.group_add)?;
        let rlimits = flags
            .ulimit
            .iter()
            .map(|u| Rlimit::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let mut r = if flags.privileged {
            Restrictions::privileged()
        } else {
            let capabilities = CapabilitySets::from_flags(&flags.cap_add, &flags.cap_drop)?;
            let seccomp = match &flags.seccomp {
                SeccompChoice::Default => Some(Seccomp::compile(seccomp_default::docker_default(
                    &capabilities.bounding,
                ))?),
                SeccompChoice::Unconfined => None,
                SeccompChoice::File(path) => Some(Seccomp::from_file(path)?),
            };
            Restrictions {
                capabilities,
                seccomp,
                ..Restrictions::docker_default()?
            }
        };
        r.no_new_privileges = flags.no_new_privileges;
        r.user = user;
        r.rlimits = rlimits;
        Ok(r)
    }
    // ANCHOR_END: from_flags

    /// From an OCI config.json (chapter 08): `process.capabilities`,
    /// `noNewPrivileges`, `user`, `rlimits`; `linux.seccomp`, `maskedPaths`,
    /// `readonlyPaths`, `resources.devices`, `devices`. HOME comes from the
    /// rootfs's /etc/passwd when the process's env lacks it (as runc does).
    pub fn from_oci(
        spec: &oci_spec::runtime::Spec,
        rootfs: &Path,
    ) -> Result<Restrictions, SecurityError> {
        let mut r = Restrictions {
            capabilities: CapabilitySets::uniform(Default::default()),
            seccomp: None,
            no_new_privileges: false,
            masked_paths: Vec::new(),
            readonly_paths: Vec::new(),
            device_rules: devices::default_rules(),
            device_nodes: Vec::new(),
            user: User::root(),
            umask: None,
            rlimits: Vec::new(),
            privileged: false,
        };
        if let Some(process) = spec.process() {
            if let Some(caps) = process.capabilities() {
                r.capabilities = CapabilitySets::from_oci(caps)?;
            }
            r.no_new_privileges = process.no_new_privileges().unwrap_or(false);
            let u = process.user();
            let resolved = user::resolve(rootfs, Some(&u.uid().to_string()), &[])?;
            r.user = User {
                uid: u.uid(),
                gid: u.gid(),
                additional_gids: u.additional_gids().clone().unwrap_or_default(),
                home: resolved.home,
                name: resolved.name,
            };
            r.umask = u.umask();
            for limit in process.rlimits().iter().flatten() {
                let name = limit.typ().to_string();
                r.rlimits.push(Rlimit::new(
                    crate::rlimits::resource_named(&name)?,
                    limit.soft(),
                    limit.hard(),
                )?);
            }
        }
        if let Some(linux) = spec.linux() {
            if let Some(seccomp) = linux.seccomp() {
                r.seccomp = Some(Seccomp::compile(seccomp.clone())?);
            }
            r.masked_paths = linux
                .masked_paths()
                .iter()
                .flatten()
                .map(PathBuf::from)
                .collect();
            r.readonly_paths = linux
                .readonly_paths()
                .iter()
                .flatten()
                .map(PathBuf::from)
                .collect();
            if let Some(rules) = linux
                .resources()
                .as_ref()
                .and_then(|res| res.devices().clone())
            {
                r.device_rules = rules.iter().map(rule_from_oci).collect::<Result<_, _>>()?;
            }
            for dev in linux.devices().iter().flatten() {
                let name = dev
                    .path()
                    .strip_prefix("/dev")
                    .map(Path::to_path_buf)
                    .map_err(|_| {
                        SecurityError::apply(
                            format!("linux.devices {}", dev.path().display()),
                            nix::errno::Errno::EINVAL,
                            "device nodes must live under /dev",
                        )
                    })?;
                r.device_nodes.push(DeviceNode {
                    name,
                    block: dev.typ() == oci_spec::runtime::LinuxDeviceType::B,
                    major: dev.major() as u64,
                    minor: dev.minor() as u64,
                    mode: dev.file_mode().unwrap_or(0o666),
                });
            }
        }
        Ok(r)
    }

    /// The environment the user brings: HOME (and USER when it has a name).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("HOME".to_string(), self.user.home.clone())];
        if let Some(name) = &self.user.name {
            env.push(("USER".to_string(), name.clone()));
        }
        env
    }

    /// PARENT side, before anything is created: what we can know will fail.
    pub fn check(&self) -> Result<(), SecurityError> {
        self.rlimits.iter().try_for_each(Rlimit::check)
    }

    // ANCHOR: apply
    // ANCHOR: apply_early
    /// CHILD side, in the command's process inside the finished container,
    /// just before execve. The order is the lesson:
    /// 1. paths (masks, read-only) — mount(2) needs CAP_SYS_ADMIN, still ours;
    /// 2. rlimits — raising needs CAP_SYS_RESOURCE, still ours;
    /// 3. without no_new_privs, seccomp now: loading it then needs CAP_SYS_ADMIN;
    /// 4. the bounding set — PR_CAPBSET_DROP needs CAP_SETPCAP, still effective;
    /// 5. the user: setgroups/setresgid/setresuid under PR_SET_KEEPCAPS, so
    ///    permitted capabilities survive the switch from UID 0;
    /// 6. inheritable, effective, permitted, ambient (capset);
    /// 7. no_new_privs;
    /// 8. with no_new_privs, seccomp last: as few calls as possible after it.
    pub fn apply(&self, narrator: &Narrator) -> Result<(), SecurityError> {
        if self.privileged {
            self.apply_privileged(narrator)?;
        } else {
            self.device_nodes_created(narrator);
        }
        self.apply_paths(narrator)?;
        for limit in &self.rlimits {
            limit.apply()?;
            narrator.syscall(
                &format!(
                    "setrlimit({}, {}:{})",
                    crate::rlimits::name_of(limit.resource),
                    limit.soft,
                    limit.hard
                ),
                "inherited by the command and all it forks",
            );
        }
        if let (Some(seccomp), false) = (&self.seccomp, self.no_new_privileges) {
            self.load_seccomp(
                seccomp,
                narrator,
                "early: without no_new_privs, loading needs CAP_SYS_ADMIN, which we drop next",
            )?;
        }
        // ANCHOR_END: apply_early
        // ANCHOR: apply_late
        capabilities::drop_bounding(&self.capabilities.bounding)?;
        narrator.syscall(
            "prctl(PR_CAPBSET_DROP, …)",
            &format!(
                "bounding set: {}",
                capabilities::names(&self.capabilities.bounding)
            ),
        );
        self.switch_user(narrator)?;
        capabilities::set_process_caps(&self.capabilities)?;
        narrator.syscall(
            "capset(effective, permitted, inheritable) + PR_CAP_AMBIENT",
            &format!(
                "effective: {}; ambient: {}",
                capabilities::names(&self.capabilities.effective),
                capabilities::names(&self.capabilities.ambient)
            ),
        );
        if self.no_new_privileges {
            nix::sys::prctl::set_no_new_privs().map_err(|e| {
                SecurityError::apply("prctl(PR_SET_NO_NEW_PRIVS)", e, "needs Linux 3.5")
            })?;
            narrator.syscall(
                "prctl(PR_SET_NO_NEW_PRIVS, 1)",
                "setuid bits and file capabilities are ignored by every execve from now on",
            );
            if let Some(seccomp) = &self.seccomp {
                self.load_seccomp(
                    seccomp,
                    narrator,
                    "last: no_new_privs lets an unprivileged process load it",
                )?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: apply_late
    // ANCHOR_END: apply

    fn apply_privileged(&self, narrator: &Narrator) -> Result<(), SecurityError> {
        narrator.warn("--privileged: ALL capabilities, NO seccomp filter, NO masked or read-only paths, EVERY host device, /sys writable");
        narrator.warn("root in this container is root on the host: it can mount the host's disk, load kernel modules, reboot the machine");
        let made = devices::create_nodes(&self.device_nodes);
        narrator.syscall(
            &format!("mknod × {made}"),
            "the host's device nodes, recreated in the container's /dev (its disks among them)",
        );
        // sysfs was mounted read-only by chapter 02: writable again.
        nix::mount::mount(
            None::<&str>,
            "/sys",
            None::<&str>,
            nix::mount::MsFlags::MS_REMOUNT
                | nix::mount::MsFlags::MS_NOSUID
                | nix::mount::MsFlags::MS_NODEV
                | nix::mount::MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .map_err(|e| {
            SecurityError::apply("remounting /sys read-write", e, "needs CAP_SYS_ADMIN")
        })?;
        narrator.syscall(
            "mount(\"/sys\", MS_REMOUNT)",
            "/sys is writable: the host's kernel settings are ours to change",
        );
        Ok(())
    }

    fn device_nodes_created(&self, narrator: &Narrator) {
        if !self.device_nodes.is_empty() {
            let made = devices::create_nodes(&self.device_nodes);
            narrator.syscall(
                &format!("mknod × {made}"),
                "the device nodes the configuration asks for",
            );
        }
    }

    fn apply_paths(&self, narrator: &Narrator) -> Result<(), SecurityError> {
        let mut masked = Vec::new();
        for path in &self.masked_paths {
            if paths::mask(path)? == Outcome::Done {
                masked.push(path.display().to_string());
            }
        }
        if !masked.is_empty() {
            narrator.syscall(
                &format!("mount(/dev/null or empty tmpfs) over {}", masked.join(" ")),
                "masked: the host's memory, keys and timers are not the container's to read",
            );
        }
        let mut readonly = Vec::new();
        for path in &self.readonly_paths {
            if paths::make_readonly(path)? == Outcome::Done {
                readonly.push(path.display().to_string());
            }
        }
        if !readonly.is_empty() {
            narrator.syscall(
                &format!(
                    "mount(MS_BIND) + MS_REMOUNT|MS_RDONLY on {}",
                    readonly.join(" ")
                ),
                "read-only: the kernel's global tunables stay the host's",
            );
        }
        Ok(())
    }

    fn load_seccomp(
        &self,
        seccomp: &Seccomp,
        narrator: &Narrator,
        when: &str,
    ) -> Result<(), SecurityError> {
        seccomp.load()?;
        narrator.syscall(
            &format!(
                "seccomp(SECCOMP_SET_MODE_FILTER) × {}",
                seccomp.program_count()
            ),
            when,
        );
        Ok(())
    }

    fn switch_user(&self, narrator: &Narrator) -> Result<(), SecurityError> {
        // PR_SET_KEEPCAPS: leaving UID 0 would otherwise empty the permitted set.
        nix::sys::prctl::set_keepcaps(true)
            .map_err(|e| SecurityError::apply("prctl(PR_SET_KEEPCAPS)", e, "see prctl(2)"))?;
        user::switch_to(&self.user)?;
        nix::sys::prctl::set_keepcaps(false)
            .map_err(|e| SecurityError::apply("prctl(PR_SET_KEEPCAPS, 0)", e, "see prctl(2)"))?;
        if let Some(mask) = self.umask {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
        }
        narrator.syscall(
            &format!(
                "setgroups({:?}) + setresgid({}) + setresuid({})",
                self.user.additional_gids, self.user.gid, self.user.uid
            ),
            if self.user.uid == 0 {
                "root of the container — still UID 0 to the kernel"
            } else {
                "an ordinary user: at execve its capabilities go, unless ambient"
            },
        );
        Ok(())
    }
}

fn rule_from_oci(rule: &oci_spec::runtime::LinuxDeviceCgroup) -> Result<DeviceRule, SecurityError> {
    use oci_spec::runtime::LinuxDeviceType;
    let kind = match rule.typ() {
        None | Some(LinuxDeviceType::A) => DeviceKind::All,
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DeviceKind::Char,
        Some(LinuxDeviceType::B) => DeviceKind::Block,
        Some(LinuxDeviceType::P) => {
            return Err(SecurityError::apply(
                "linux.resources.devices",
                nix::errno::Errno::EINVAL,
                "a FIFO (type p) is not a device the cgroup controls",
            ))
        }
    };
    let access_text = rule.access().clone().unwrap_or_else(|| "rwm".to_string());
    let access = Access::parse(&access_text).ok_or_else(|| {
        SecurityError::apply(
            format!("linux.resources.devices access {access_text:?}"),
            nix::errno::Errno::EINVAL,
            "access is made of r, w and m",
        )
    })?;
    Ok(DeviceRule {
        allow: rule.allow(),
        kind,
        major: rule.major().map(|m| m as u32),
        minor: rule.minor().map(|m| m as u32),
        access,
    })
}
