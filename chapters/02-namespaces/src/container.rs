//! The parent side: clone the child into its namespaces, map its IDs, run the
//! hooks, and supervise it.

use crate::error::NamespaceError;
use crate::hooks::Hooks;
use crate::spec::ContainerSpec;
use ch01_chroot::{Exit, Narrator};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// A running container, seen from the host.
#[derive(Debug)]
pub struct Container {
    init: Pid,
}

impl Container {
    /// The container's init, as a host PID.
    pub fn pid(&self) -> Pid {
        self.init
    }

    /// Blocks until the container ends; the command's exit (signal → [`Exit::Signal`]).
    pub fn wait(self) -> Result<Exit, NamespaceError> {
        Err(NamespaceError::Unimplemented("Container::wait"))
    }

    /// Non-blocking: `None` while the container runs.
    pub fn try_wait(&mut self) -> Result<Option<Exit>, NamespaceError> {
        Err(NamespaceError::Unimplemented("Container::try_wait"))
    }

    /// Sends `sig` to the container's init, which forwards it to the command.
    pub fn signal(&self, sig: Signal) -> Result<(), NamespaceError> {
        nix::sys::signal::kill(self.init, sig).map_err(NamespaceError::sys("kill"))
    }
}

/// Starts the container; returns once the command was exec'd.
pub fn spawn(
    spec: &ContainerSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Container, NamespaceError> {
    let _ = (spec, hooks, narrator);
    Err(NamespaceError::Unimplemented("spawn"))
}

/// [`spawn`] + [`Container::wait`].
pub fn run(
    spec: &ContainerSpec,
    hooks: &mut dyn Hooks,
    narrator: &Narrator,
) -> Result<Exit, NamespaceError> {
    spawn(spec, hooks, narrator)?.wait()
}
