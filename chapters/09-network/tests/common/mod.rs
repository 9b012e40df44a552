//! A "host" of the test's own: a network namespace made with `ip netns add`,
//! where the demo (or the library, on a thread that entered it) builds its
//! bridge, veths and rules. Nothing touches this machine's interfaces,
//! routes or firewall; no packet leaves the namespaces the test made.
//!
//! With `internet`, a second namespace stands for the world outside: a veth
//! "uplink" 198.51.100.1 (host) ↔ 198.51.100.2 (internet) — TEST-NET-2,
//! addresses for documentation — and the host's default route through it.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use minibox_testkit::{run, text, unique_name, Rootfs};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const HOST_UPLINK: &str = "198.51.100.1";
pub const INTERNET: &str = "198.51.100.2";

pub fn demo() -> &'static str {
    env!("CARGO_BIN_EXE_ch09-network")
}

#[derive(Debug)]
pub struct Lab {
    pub host: String,
    pub internet: Option<String>,
    pub rootfs: Rootfs,
}

fn ip(args: &[&str]) {
    let out = run(Command::new("ip").args(args));
    assert!(out.status.success(), "ip {args:?}: {}", text(&out).1);
}

impl Lab {
    pub fn new() -> Lab {
        let host = unique_name("ch09h");
        ip(&["netns", "add", &host]);
        // A real host's lo is up; a new namespace's is not.
        ip(&["-n", &host, "link", "set", "lo", "up"]);
        let rootfs = Rootfs::busybox();
        std::fs::create_dir_all(rootfs.path().join("www")).unwrap();
        std::fs::write(
            rootfs.path().join("www/index.html"),
            "hello from the container\n",
        )
        .unwrap();
        Lab {
            host,
            internet: None,
            rootfs,
        }
    }

    /// Adds "the internet": a second namespace behind the host's uplink.
    pub fn with_internet() -> Lab {
        let mut lab = Lab::new();
        let inet = unique_name("ch09i");
        ip(&["netns", "add", &inet]);
        let h = lab.host.clone();
        ip(&[
            "-n", &h, "link", "add", "uplink", "type", "veth", "peer", "name", "wan",
        ]);
        ip(&["-n", &h, "link", "set", "wan", "netns", &inet]);
        ip(&[
            "-n",
            &h,
            "addr",
            "add",
            &format!("{HOST_UPLINK}/24"),
            "dev",
            "uplink",
        ]);
        ip(&["-n", &h, "link", "set", "uplink", "up"]);
        ip(&[
            "-n",
            &inet,
            "addr",
            "add",
            &format!("{INTERNET}/24"),
            "dev",
            "wan",
        ]);
        ip(&["-n", &inet, "link", "set", "wan", "up"]);
        ip(&["-n", &inet, "link", "set", "lo", "up"]);
        ip(&["-n", &h, "route", "add", "default", "via", INTERNET]);
        lab.internet = Some(inet);
        lab
    }

    /// `ip netns exec HOST ch09-network --rootfs R ARGS…`
    pub fn demo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.host, demo(), "--rootfs"])
            .arg(self.rootfs.path())
            .args(args)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs a command in the host namespace.
    pub fn in_host(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.host])
            .args(args))
    }

    pub fn in_internet(&self, args: &[&str]) -> Output {
        let inet = self.internet.as_ref().expect("a lab with_internet");
        run(Command::new("ip").args(["netns", "exec", inet]).args(args))
    }

    /// The host namespace's devices, one line each.
    pub fn links(&self) -> String {
        text(&self.in_host(&["ip", "-o", "link", "show"])).0
    }

    /// Every rule in both tables (iptables -S), as text.
    pub fn rules(&self) -> String {
        let nat = text(&self.in_host(&["iptables", "-w", "-t", "nat", "-S"])).0;
        let filter = text(&self.in_host(&["iptables", "-w", "-S"])).0;
        nat + &filter
    }

    /// The library's state directory for the host namespace.
    pub fn state_dir(&self) -> PathBuf {
        let path = PathBuf::from(format!("/run/netns/{}", self.host));
        let cookie = in_netns(&path, ch09_network::netns::current_cookie).unwrap();
        PathBuf::from(ch09_network::state::STATE_ROOT).join(cookie.to_string())
    }

    /// Nothing of ours left: no bridge, no veth, no rule, no lease, no file.
    pub fn assert_clean(&self) {
        let links = self.links();
        assert!(
            !links.contains("mbx") && !links.contains("minibox"),
            "devices left:\n{links}"
        );
        let rules = self.rules();
        assert!(
            !rules.contains("MBX") && !rules.contains("minibox"),
            "rules left:\n{rules}"
        );
        let dir = self.state_dir();
        assert!(
            !dir.exists(),
            "state left in {}: {:?}",
            dir.display(),
            std::fs::read_dir(&dir).map(|d| d.count())
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // A test that failed half way may have left the network's state:
        // it belongs to this namespace only, which is about to go.
        if std::path::Path::new(&format!("/run/netns/{}", self.host)).exists() {
            let _ = std::fs::remove_dir_all(self.state_dir());
        }
        // Deleting a namespace deletes its devices and rules with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.host])
            .status();
        if let Some(inet) = &self.internet {
            let _ = Command::new("ip").args(["netns", "del", inet]).status();
        }
    }
}

/// Runs `f` on a thread that entered the network namespace at `path`
/// (only that thread moves: the test harness's threads stay where they are).
pub fn in_netns<T: Send>(path: &std::path::Path, f: impl FnOnce() -> T + Send) -> T {
    let ns = std::fs::File::open(path).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    })
}

/// Polls `check` every 50 ms until it holds or `limit` passed.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The first "inet A.B.C.D/N" address in `ip addr` output.
pub fn inet_address(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .map(|a| a.split('/').next().unwrap_or(a).to_string())
}

/// A supervisor the test started. If the test ends before it does — a failed
/// assertion — it is stopped on drop (SIGTERM: it passes it on and cleans
/// up; SIGKILL after 10 s), so no container outlives its test.
#[derive(Debug)]
pub struct Running(Option<std::process::Child>);

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        Running(Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}")),
        ))
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.0.as_ref().map_or(0, |c| c.id() as i32))
    }

    pub fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("still running")
    }

    /// Waits for it (at most `limit`) and takes its output.
    pub fn collect(mut self, limit: Duration, what: &str) -> Output {
        let child = self.0.take().expect("still running");
        minibox_testkit::bounded::collect_within(child, limit, what)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let gone = wait_for(Duration::from_secs(10), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !gone {
                for init in minibox_testkit::bounded::children_of(pid) {
                    let _ = nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL);
                }
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }
}
