//! The container's cgroup: one directory on cgroup v2, one per hierarchy on
//! v1, created with its limits before the container's first process joins,
//! removed after its last process left.

use crate::error::CgroupError;
use crate::files;
use crate::layout::{CgroupLayout, LayoutKind};
use crate::limits::Limits;
use crate::placement::{Placement, Spot, DEFAULT_V1_PARENT, DEFAULT_V2_PARENT};
use crate::stale::{lock_dir, remove_if_unused, DirLock};
use crate::{v1, v2};
use ch01_chroot::Narrator;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// How often we start creating again when another container's cleanup
/// removed a shared parent under our feet (each retry is a few syscalls).
const MAX_ATTEMPTS: u32 = 5;

/// Which cgroup version a directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One directory of the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupDir {
    pub version: Version,
    pub path: PathBuf,
    /// v1: the controllers of this hierarchy. v2: the controllers enabled
    /// for it (its cgroup.controllers); the core files (cgroup.freeze,
    /// cgroup.kill, cpu.stat's usage) work without any.
    pub controllers: Vec<String>,
}

impl CgroupDir {
    pub fn serves(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// The controllers a container's cgroup uses, by their v1 names. On v2,
/// `cpuacct` (CPU usage) and `freezer` are built into every cgroup.
pub(crate) const V1_CONTROLLERS: [&str; 5] = ["memory", "cpu", "cpuacct", "pids", "freezer"];
/// The v2 controllers a container's cgroup enables.
pub(crate) const V2_CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];

/// A container's cgroup. Dropping it kills what is left inside and removes
/// the directories: no path, error paths included, leaves a cgroup behind.
#[derive(Debug)]
pub struct Cgroup {
    pub(crate) kind: LayoutKind,
    pub(crate) id: String,
    pub(crate) dirs: Vec<CgroupDir>,
    /// Directories we made, in the order we made them.
    pub(crate) created: Vec<PathBuf>,
    /// Parent directories to remove once empty (the default parent, whoever made it).
    pub(crate) prune: Vec<PathBuf>,
    pub(crate) narrator: Narrator,
    pub(crate) removed: bool,
    /// An flock on each container directory, held while we live: it tells a
    /// later run or `minibox doctor --clean` that the cgroup is not a leftover.
    pub(crate) locks: Vec<DirLock>,
}

impl Cgroup {
    // ANCHOR: create
    /// Creates the container's cgroup with `limits`, in every hierarchy it needs.
    pub fn create(
        layout: &CgroupLayout,
        placement: &Placement,
        limits: &Limits,
        narrator: &Narrator,
    ) -> Result<Cgroup, CgroupError> {
        limits.validate()?;
        let mut cgroup = Cgroup {
            kind: layout.kind,
            id: placement.id().to_string(),
            dirs: Vec::new(),
            created: Vec::new(),
            prune: Vec::new(),
            narrator: narrator.clone(),
            removed: false,
            locks: Vec::new(),
        };
        // ANCHOR: create_by_layout
        // From here on, an error drops `cgroup`, which removes what was made.
        match layout.kind {
            LayoutKind::Unified => {
                cgroup.create_v2(layout, placement, limits, &V2_CONTROLLERS)?;
            }
            LayoutKind::Legacy | LayoutKind::Hybrid => {
                // A controller goes to the hierarchy it is bound to. On a hybrid
                // host that is v1 for most; cgroup2 gets only what v1 does not hold.
                for hierarchy in v1::hierarchies_for(layout, &V1_CONTROLLERS) {
                    let spot = placement.spot(
                        &hierarchy.mount_point,
                        &hierarchy.own_dir,
                        DEFAULT_V1_PARENT,
                    );
                    cgroup.make_dirs(&spot)?;
                    cgroup.dirs.push(CgroupDir {
                        version: Version::V1,
                        path: spot.dir,
                        controllers: hierarchy.controllers.clone(),
                    });
                }
                let left_to_v2: Vec<&'static str> = V2_CONTROLLERS
                    .into_iter()
                    .filter(|c| layout.v1_hierarchy(c).is_none() && layout.v2_offers(c))
                    .collect();
                if !left_to_v2.is_empty() {
                    cgroup.create_v2(layout, placement, limits, &left_to_v2)?;
                }
            }
        }
        cgroup.check_required(layout, limits)?;
        cgroup.apply(limits)?;
        Ok(cgroup)
    }
    // ANCHOR_END: create_by_layout
    // ANCHOR_END: create

    fn create_v2(
        &mut self,
        layout: &CgroupLayout,
        placement: &Placement,
        limits: &Limits,
        controllers: &[&'static str],
    ) -> Result<(), CgroupError> {
        let Some(mount) = layout.v2.as_ref() else {
            return Ok(());
        };
        let spot = placement.spot(&mount.mount_point, &mount.own_dir, DEFAULT_V2_PARENT);
        let required = required_controllers(limits);
        // Another container may remove the shared parent between our mkdir and
        // our next step; start again from the top if a directory vanished.
        let mut attempt = 0;
        let enabled = loop {
            attempt += 1;
            let made = v2::enable_down_to(
                &mount.mount_point,
                &spot,
                controllers,
                &required,
                &self.narrator,
                &mut self.created,
            )
            .and_then(|enabled| self.make_dir(&spot.dir).map(|()| enabled));
            match made {
                Err(err) if attempt < MAX_ATTEMPTS && is_not_found(&err) => continue,
                other => break other?,
            }
        };
        self.note_prune(&spot);
        self.dirs.push(CgroupDir {
            version: Version::V2,
            path: spot.dir,
            controllers: enabled,
        });
        Ok(())
    }

    /// mkdir the parents (existing ones are fine) and the container's directory.
    fn make_dirs(&mut self, spot: &Spot) -> Result<(), CgroupError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let made = spot
                .parents
                .iter()
                .try_for_each(|parent| self.make_parent(parent))
                .and_then(|()| self.make_dir(&spot.dir));
            match made {
                Err(err) if attempt < MAX_ATTEMPTS && is_not_found(&err) => continue,
                other => break other?,
            }
        }
        self.note_prune(spot);
        Ok(())
    }

    pub(crate) fn make_parent(&mut self, parent: &Path) -> Result<(), CgroupError> {
        match std::fs::create_dir(parent) {
            Ok(()) => {
                self.narrator
                    .syscall(&format!("mkdir {}", parent.display()), "the parent cgroup");
                self.created.push(parent.to_path_buf());
                Ok(())
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(CgroupError::Create {
                path: parent.to_path_buf(),
                source,
            }),
        }
    }

    // ANCHOR: make_dir
    fn make_dir(&mut self, dir: &Path) -> Result<(), CgroupError> {
        let create = |source| CgroupError::Create {
            path: dir.to_path_buf(),
            source,
        };
        // The parent's lock, for a moment: nobody judges our new cgroup a
        // leftover between our mkdir and our taking its lock.
        let parent = dir.parent().unwrap_or(dir);
        let _parent_lock = lock_dir(parent, true).map_err(create)?;
        // mkdir in cgroupfs creates a cgroup: the kernel fills it with the
        // control files of every controller enabled for it.
        match std::fs::create_dir(dir) {
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                // Left by a supervisor that was killed (kill -9)? Then it is
                // unlocked and empty, and ours to replace.
                remove_if_unused(dir, None).map_err(|why| CgroupError::InUse {
                    path: dir.to_path_buf(),
                    why,
                })?;
                self.narrator.step(&format!(
                    "removed {}: left behind by a run that was killed (no owner, no process inside)",
                    dir.display()
                ));
                std::fs::create_dir(dir).map_err(create)?;
            }
            other => other.map_err(create)?,
        }
        self.created.push(dir.to_path_buf());
        // Ours while we live: the kernel drops the lock when we die, however we die.
        let lock = lock_dir(dir, false).map_err(create)?;
        self.locks.extend(lock);
        self.narrator.syscall(
            &format!("mkdir {}", dir.display()),
            "a new cgroup; the kernel fills it with control files",
        );
        Ok(())
    }
    // ANCHOR_END: make_dir

    fn note_prune(&mut self, spot: &Spot) {
        if spot.default_parent {
            for parent in spot.parents.iter().rev() {
                if !self.prune.contains(parent) {
                    self.prune.push(parent.clone());
                }
            }
        }
    }

    /// Every limit asked for needs a directory that serves its controller.
    fn check_required(&self, layout: &CgroupLayout, limits: &Limits) -> Result<(), CgroupError> {
        for (limit, controller) in required_limits(limits) {
            if self.dir_for(controller).is_none() {
                return Err(CgroupError::ControllerMissing {
                    limit,
                    controller,
                    hint: match layout.kind {
                        LayoutKind::Unified => format!(
                            "cgroup2 does not list it in {}/cgroup.controllers (is it disabled with cgroup_disable= on the kernel command line?)",
                            layout.v2.as_ref().map(|v| v.mount_point.display().to_string()).unwrap_or_default()
                        ),
                        _ => format!(
                            "no cgroup v1 hierarchy has it mounted (look for `cgroup` lines with {controller} in /proc/self/mountinfo), and cgroup2 does not offer it"
                        ),
                    },
                });
            }
        }
        Ok(())
    }

    /// Writes the limits into the files of whichever version serves each controller.
    fn apply(&self, limits: &Limits) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            match dir.version {
                Version::V2 => v2::write_limits(dir, limits, &self.narrator)?,
                Version::V1 => v1::write_limits(dir, limits, &self.narrator)?,
            }
        }
        Ok(())
    }

    // ANCHOR: join
    /// Moves `pid` into the cgroup: one write per directory. Its children,
    /// forked from now on, are born inside it.
    pub fn join(&self, pid: Pid) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            files::write(
                &dir.path,
                "cgroup.procs",
                &pid.to_string(),
                "join: from now on this process and its children are counted and limited here",
                &self.narrator,
            )?;
        }
        Ok(())
    }
    // ANCHOR_END: join

    /// The layout this cgroup was made for.
    pub fn layout(&self) -> LayoutKind {
        self.kind
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// All directories of this cgroup (one on v2, one per hierarchy on v1).
    pub fn dirs(&self) -> &[CgroupDir] {
        &self.dirs
    }

    /// The directory that holds `controller`'s files (v1 names: memory, cpu,
    /// cpuacct, pids, freezer). On v2, `cpuacct` and `freezer` are core files
    /// of every cgroup.
    pub fn dir_for(&self, controller: &str) -> Option<&CgroupDir> {
        self.dirs
            .iter()
            .find(|d| d.version == Version::V1 && d.serves(controller))
            .or_else(|| {
                self.dirs.iter().find(|d| {
                    d.version == Version::V2
                        && (d.serves(controller) || matches!(controller, "cpuacct" | "freezer"))
                })
            })
    }

    /// The PIDs inside the cgroup now.
    pub fn procs(&self) -> Vec<Pid> {
        let dir = self
            .dir_for("freezer")
            .or_else(|| self.dirs.first())
            .map(|d| d.path.clone());
        dir.map(|d| {
            files::read_procs(&d)
                .into_iter()
                .map(Pid::from_raw)
                .collect()
        })
        .unwrap_or_default()
    }
}

/// The controllers the limits need, with the flag that asked for each.
fn required_limits(limits: &Limits) -> Vec<(&'static str, &'static str)> {
    let mut needs = Vec::new();
    if limits.memory_bytes.is_some() {
        needs.push(("--memory", "memory"));
    }
    if limits.cpus.is_some() {
        needs.push(("--cpus", "cpu"));
    }
    if limits.cpu_weight.is_some() {
        needs.push(("--cpu-weight", "cpu"));
    }
    if limits.pids.is_some() {
        needs.push(("--pids", "pids"));
    }
    needs
}

fn required_controllers(limits: &Limits) -> Vec<&'static str> {
    required_limits(limits)
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

fn is_not_found(err: &CgroupError) -> bool {
    match err {
        CgroupError::Create { source, .. }
        | CgroupError::Write { source, .. }
        | CgroupError::Read { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}
