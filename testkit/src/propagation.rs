//! Running a test's commands under an rshared "/", so "no mount leaked"
//! assertions can fail.
//!
//! On some machines (this project's test machines among them) "/" has
//! private propagation: a container that forgets to make its mount namespace
//! private leaks nothing there, and a test asserting "no mount leaked to the
//! host" passes whatever the code does. systemd hosts, where most readers run
//! containers, have "/" shared, and there the same bug leaks every mount.
//!
//! [`SharedRoot`] gives a test a mount namespace of its own in which "/" and
//! everything below it is shared, as on a systemd host, but cut off from the
//! real host: commands made with [`SharedRoot::command`] run in it, and
//! [`SharedRoot::mounts_under`] reads its mount table, where a leaked mount
//! shows up. When the `SharedRoot` is dropped (or the test process dies) the
//! namespace ends, and with it any mount a buggy container leaked into it.

use nix::mount::{mount, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A mount namespace with an rshared "/", held open by a small process.
#[derive(Debug)]
pub struct SharedRoot {
    /// `cat` with our pipe as its stdin: it ends when the pipe closes, so the
    /// namespace cannot outlive the test, even one that is killed.
    holder: Child,
    /// The holder's mount namespace, opened for setns(2).
    ns: File,
}

impl SharedRoot {
    /// Makes the namespace (panics with the reason if it cannot: a test
    /// without it could not say anything about propagation).
    pub fn new() -> SharedRoot {
        let mut holder = Command::new("cat");
        holder.stdin(Stdio::piped()).stdout(Stdio::null());
        // Safety: runs between fork and exec; calls only unshare and mount
        // (nix passes short paths on the stack, without allocating).
        unsafe {
            holder.pre_exec(|| {
                unshare(CloneFlags::CLONE_NEWNS)?;
                // Private first: on a host where "/" is already shared, our
                // copies would otherwise be peers of the host's mounts, and a
                // leak would reach the real host.
                let no = None::<&str>;
                mount(no, "/", no, MsFlags::MS_REC | MsFlags::MS_PRIVATE, no)?;
                // Then shared: new peer groups, local to this namespace.
                mount(no, "/", no, MsFlags::MS_REC | MsFlags::MS_SHARED, no)?;
                Ok(())
            });
        }
        let holder = holder
            .spawn()
            .unwrap_or_else(|e| panic!("making a mount namespace with an rshared /: {e}"));
        // spawn returned after exec, so pre_exec has run: this is the new namespace.
        let ns = File::open(format!("/proc/{}/ns/mnt", holder.id()))
            .unwrap_or_else(|e| panic!("opening the shared-root namespace: {e}"));
        let shared = SharedRoot { holder, ns };
        assert!(
            shared.root_is_shared(),
            "\"/\" is not shared in the test's mount namespace:\n{}",
            shared.mountinfo()
        );
        shared
    }

    /// A command that runs inside the namespace. Spawn it while `self` lives.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let ns = self.ns.as_raw_fd();
        // Safety: runs between fork and exec and calls only setns(2).
        unsafe {
            cmd.pre_exec(move || {
                // The fd stays open in `self` until the command was spawned.
                let ns = BorrowedFd::borrow_raw(ns);
                setns(ns, CloneFlags::CLONE_NEWNS)?;
                Ok(())
            });
        }
        cmd
    }

    /// The namespace's mount table (/proc/PID/mountinfo of its holder).
    pub fn mountinfo(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/mountinfo", self.holder.id()))
            .unwrap_or_else(|e| panic!("reading the shared-root namespace's mountinfo: {e}"))
    }

    /// The mount points at or below `path` in the namespace's mount table.
    pub fn mounts_under(&self, path: &Path) -> Vec<String> {
        crate::mounts::mounts_under_in(&self.mountinfo(), path)
    }

    /// True if "/" carries a `shared:N` tag in the namespace's mount table.
    pub fn root_is_shared(&self) -> bool {
        self.mountinfo().lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Field 5 is the mount point; optional tags follow field 6 up to "-".
            fields.get(4) == Some(&"/")
                && fields
                    .iter()
                    .skip(6)
                    .take_while(|f| **f != "-")
                    .any(|f| f.starts_with("shared:"))
        })
    }

    /// The namespace's fd, for a test that wants to setns itself.
    pub fn ns_fd(&self) -> BorrowedFd<'_> {
        self.ns.as_fd()
    }
}

impl Default for SharedRoot {
    fn default() -> Self {
        SharedRoot::new()
    }
}

impl Drop for SharedRoot {
    /// Closing the holder's stdin ends it, and the namespace with it.
    fn drop(&mut self) {
        drop(self.holder.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.holder.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
