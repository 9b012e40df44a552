//! `create` (and the first half of `run`): every flag checked, the image
//! resolved (pulled if missing), the container recorded under a unique
//! name, its overlay directories prepared. Nothing runs yet.

use super::error::{EngineError, Result};
use super::record::{HostConfig, Record, RunConfig, Ulimit};
use super::runtime::{RuntimeKind, BUILTIN};
use super::{ids, process, rootfs, volumes, Engine};
use std::path::PathBuf;

/// docker run's flags, as the engine takes them.
#[derive(Debug, Clone, Default)]
pub struct ContainerOptions {
    pub image: String,
    pub args: Vec<String>,
    pub name: Option<String>,
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub volumes: Vec<String>,
    pub tmpfs: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `--group-add` (GIDs or names) and `--ulimit NAME=SOFT[:HARD]`.
    pub group_add: Vec<String>,
    pub ulimits: Vec<String>,
    pub hostname: Option<String>,
    pub entrypoint: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<u64>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub privileged: bool,
    pub network: Option<String>,
    /// `-p`, `--dns`, `--add-host` (see `network.rs`).
    pub publish: Vec<String>,
    pub dns: Vec<String>,
    pub add_host: Vec<String>,
    pub init: bool,
    pub runtime: Option<String>,
    pub auto_remove: bool,
    pub tty: bool,
    pub interactive: bool,
}

impl Engine {
    // ANCHOR: create
    /// Checks every flag first (so bad input changes nothing), then the image.
    pub fn create(&self, o: &ContainerOptions) -> Result<Record> {
        let runtime = o.runtime.clone().unwrap_or_else(|| BUILTIN.to_string());
        let kind = RuntimeKind::resolve(&runtime)?;
        if o.init && kind != RuntimeKind::Builtin {
            return Err(EngineError::Invalid(
                "--init uses chapter 08's init (chapter 02's reaping PID 1): it needs the default runtime".into(),
            ));
        }
        let memory = match &o.memory {
            Some(text) => ch03_cgroups::parse_size(text)
                .map_err(|e| EngineError::Invalid(format!("invalid --memory {text:?}: {e}")))?,
            None => 0,
        };
        if memory > 0 && memory < 6 * 1024 * 1024 {
            return Err(EngineError::Invalid(
                "--memory below 6MB: the minimum docker allows is 6m".into(),
            ));
        }
        let nano_cpus = match o.cpus {
            Some(c) if !(c > 0.0 && c.is_finite()) => {
                return Err(EngineError::Invalid(format!(
                    "invalid --cpus {c}: give a positive number, e.g. 0.5"
                )))
            }
            Some(c) => (c * 1e9) as u64,
            None => 0,
        };
        let mut net = HostConfig::default();
        super::network::check(
            &mut net,
            o.network.as_deref(),
            &o.publish,
            &o.dns,
            &o.add_host,
        )?;
        let network = net.network_mode.clone();
        let mut env_flags = Vec::new();
        for file in &o.env_files {
            env_flags.extend(process::env_file(file)?);
        }
        env_flags.extend(o.env.iter().filter_map(|e| process::expand(e)));
        let tmpfs = o
            .tmpfs
            .iter()
            .map(|t| volumes::parse_tmpfs(t))
            .collect::<Result<Vec<_>>>()?;
        // Parse every -v before creating any missing host directory.
        for spec in &o.volumes {
            volumes::parse_bind_checked(spec)?;
        }
        if let Some(name) = &o.name {
            super::names::check(name)?;
        }
        let (seccomp, _) = super::bundle::security_opts(&o.security_opt)?;
        if let (ch07_security::SeccompChoice::File(path), false) = (&seccomp, o.privileged) {
            // Read and compiled now: a missing or bad profile fails here, naming the file.
            ch07_security::Seccomp::from_file(path)?;
        }
        ch07_security::CapabilitySets::from_flags(&o.cap_add, &o.cap_drop)?;
        let mut ulimits = Vec::new();
        for text in &o.ulimits {
            let limit = ch07_security::Rlimit::parse(text)?;
            // A hard limit above ours needs CAP_SYS_RESOURCE: known now, not at start.
            limit.check()?;
            ulimits.push(Ulimit::from(limit));
        }

        let image = self.image(&o.image, true)?;
        let image_config = image.config.config().clone().unwrap_or_default();
        let (argv, entrypoint, cmd) = process::argv(
            image_config.entrypoint().as_deref().unwrap_or(&[]),
            image_config.cmd().as_deref().unwrap_or(&[]),
            o.entrypoint.as_deref(),
            &o.args,
        )?;
        let binds = o
            .volumes
            .iter()
            .map(|v| volumes::parse_bind(v))
            .collect::<Result<Vec<_>>>()?;
        let id = ids::new_id()?;
        let hostname = match (&o.hostname, network.as_str()) {
            (Some(h), _) => h.clone(),
            (None, "host") => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default(),
            (None, _) => ids::short(&id).to_string(),
        };
        let env = process::environment(
            image_config.env().as_deref().unwrap_or(&[]),
            &env_flags,
            &hostname,
            o.tty,
        );
        let working_dir = o
            .workdir
            .clone()
            .or_else(|| image_config.working_dir().clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        if !working_dir.starts_with('/') {
            return Err(EngineError::Invalid(format!(
                "the working directory {working_dir:?} is not an absolute path"
            )));
        }
        let user = o
            .user
            .clone()
            .or_else(|| image_config.user().clone())
            .unwrap_or_default();
        let mut record = Record {
            id: id.clone(),
            name: String::new(),
            created: ch08_runtime::time::now_rfc3339(),
            image_ref: o.image.clone(),
            image_id: image.config_digest.to_string(),
            layers: image.layer_dirs().into_iter().rev().collect(),
            config: RunConfig {
                image: o.image.clone(),
                path_and_args: argv,
                entrypoint,
                cmd,
                env,
                working_dir,
                user,
                hostname,
                tty: o.tty,
                open_stdin: o.interactive,
            },
            host_config: HostConfig {
                memory,
                nano_cpus,
                pids_limit: o.pids_limit,
                binds,
                tmpfs,
                readonly_rootfs: o.read_only,
                cap_add: o.cap_add.clone(),
                cap_drop: o.cap_drop.clone(),
                security_opt: o.security_opt.clone(),
                group_add: o.group_add.clone(),
                ulimits,
                privileged: o.privileged,
                network_mode: network,
                port_bindings: net.port_bindings,
                dns: net.dns,
                extra_hosts: net.extra_hosts,
                init: o.init,
                runtime,
                auto_remove: o.auto_remove,
            },
        };
        self.containers.add(&mut record, o.name.as_deref())?;
        let xattrs = self.store()?.unpack_options().whiteouts;
        let prepared = rootfs::prepare(&self.containers.paths(&id), &record.layers, xattrs)
            .and_then(|_| self.check_user(&record));
        if let Err(err) = prepared {
            let _ = self.remove_files(&id);
            return Err(err);
        }
        Ok(record)
    }
    // ANCHOR_END: create

    // ANCHOR: check_user
    /// `-u` and `--group-add` name users and groups of the *image's*
    /// /etc/passwd and /etc/group: looked up now, with the overlay mounted
    /// for the moment it takes, so an unknown name fails `create` rather
    /// than a later `start` (docker finds out only at start).
    fn check_user(&self, record: &Record) -> Result<()> {
        let user = &record.config.user;
        let groups = &record.host_config.group_add;
        if user.is_empty() && groups.is_empty() {
            return Ok(());
        }
        let paths = self.containers.paths(&record.id);
        // The marker `prepare` writes too: a concurrent `ps` must not take
        // this mount for one a killed CLI left behind.
        let marker = paths.dir.join("starting");
        std::fs::write(&marker, std::process::id().to_string())
            .map_err(EngineError::io("writing", &marker))?;
        let resolved = rootfs::mount(&paths).and_then(|()| {
            let user = (!user.is_empty()).then_some(user.as_str());
            Ok(ch07_security::user::resolve(&paths.rootfs(), user, groups).map(drop)?)
        });
        let unmounted = rootfs::unmount(&paths);
        let _ = std::fs::remove_file(&marker);
        resolved.and(unmounted)
    }
    // ANCHOR_END: check_user
}
