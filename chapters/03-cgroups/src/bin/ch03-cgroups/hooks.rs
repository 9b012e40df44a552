//! The demo's hooks: join the cgroup (the library's [`JoinCgroup`]), show
//! it from the host, and in trainer mode stop there.

use ch01_chroot::trainer::{pause, HostCommand};
use ch01_chroot::Narrator;
use ch02_namespaces::{HookError, Hooks};
use ch03_cgroups::{Cgroup, JoinCgroup, Version};
use nix::unistd::Pid;

pub struct DemoHooks<'a> {
    join: JoinCgroup<'a>,
    narrator: &'a Narrator,
    pause: bool,
}

impl<'a> DemoHooks<'a> {
    pub fn new(cgroup: &'a Cgroup, narrator: &'a Narrator, pause: bool) -> Self {
        DemoHooks {
            join: JoinCgroup { cgroup },
            narrator,
            pause,
        }
    }
}

impl Hooks for DemoHooks<'_> {
    fn child_created(&mut self, pid: Pid) -> Result<(), HookError> {
        self.narrator.step(&format!(
            "PID {pid} (the container's init) waits at the gate: it joins the cgroup before it runs anything"
        ));
        self.join.child_created(pid)?;
        if let Ok(membership) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) {
            let id = self.join.cgroup.id();
            for line in membership.lines().filter(|l| l.contains(id)) {
                self.narrator
                    .observe(&format!("/proc/{pid}/cgroup: {line}"));
            }
        }
        if self.pause {
            pause_for_trainer(pid, self.join.cgroup);
        }
        Ok(())
    }
}

fn pause_for_trainer(pid: Pid, cgroup: &Cgroup) {
    let mut commands = vec![HostCommand::new(
        format!("cat /proc/{pid}/cgroup"),
        "the container's init, already in its cgroup (one line per hierarchy)",
    )];
    if let Some(dir) = cgroup.dirs().first() {
        commands.push(HostCommand::new(
            format!("cat {}/cgroup.procs", dir.path.display()),
            format!("PID {pid}, and later everything it forks"),
        ));
    }
    if let Some(dir) = cgroup.dir_for("memory") {
        let (limit, events) = match dir.version {
            Version::V2 => ("memory.max", "memory.events"),
            Version::V1 => ("memory.limit_in_bytes", "memory.oom_control"),
        };
        commands.push(HostCommand::new(
            format!("cat {}/{limit}", dir.path.display()),
            "the memory limit, in bytes",
        ));
        commands.push(HostCommand::new(
            format!("cat {}/{events}", dir.path.display()),
            "oom_kill counts the OOM killer's victims in this cgroup",
        ));
    }
    if let Some(dir) = cgroup.dir_for("pids") {
        commands.push(HostCommand::new(
            format!("cat {0}/pids.current {0}/pids.max", dir.path.display()),
            "processes now, and the most allowed",
        ));
    }
    if let Some(dir) = cgroup.dir_for("freezer") {
        let (file, freeze, thaw) = match dir.version {
            Version::V2 => ("cgroup.freeze", "1", "0"),
            Version::V1 => ("freezer.state", "FROZEN", "THAWED"),
        };
        commands.push(HostCommand::new(
            format!("echo {freeze} > {}/{file}", dir.path.display()),
            format!("once it runs: freeze it (echo {thaw} to the same file thaws it)"),
        ));
    }
    pause(
        &format!("PID {pid} is in its cgroup, about to run the command"),
        &commands,
    );
}
