//! The shim: one small process per container, like containerd-shim or
//! conmon. It outlives the CLI that started it, is the container's parent
//! (a child subreaper, so orphans are reparented to it, not to PID 1),
//! holds the container's stdio, writes the log, drives the runtime through
//! create → start → wait → delete, and records how the container ended.
//!
//! It never polls: it sleeps in poll(2) on its descriptors — the output
//! pipes (or the pty master), the attach socket, a signalfd that reports
//! SIGCHLD — and wakes only when one of them has something.

use super::console::{set_size, ConsoleSocket};
use super::protocol;
use crate::engine::cgroup;
use crate::engine::error::{EngineError, Result};
use crate::engine::logs::LogWriter;
use crate::engine::record::{ProcessId, Record, State, Status};
use crate::engine::runtime::{RuntimeClient, Stdio3};
use crate::engine::Engine;
use ch01_chroot::Exit;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// How the CLI started us.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    pub root: PathBuf,
    pub id: String,
    /// Wait for an attached client's START before starting (foreground runs, `start -a`).
    pub wait_start: bool,
    /// The CLI waiting for us: if it dies before START, we start anyway.
    pub client_pid: Option<i32>,
    /// Where to report "created" or the error (a pipe to the CLI).
    pub ready_fd: Option<RawFd>,
}

/// What the ready pipe carries: one JSON line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Ready {
    pub pid: i32,
    pub error: Option<String>,
    pub code: i32,
}

fn nonblocking(fd: &impl AsRawFd) {
    // Safety: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(EngineError::sys("pipe2"))
}

fn dev_null() -> Result<OwnedFd> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(EngineError::io("opening", "/dev/null"))
}

/// Where the container's output comes from.
enum Output {
    Pipes {
        out: Option<File>,
        err: Option<File>,
    },
    Terminal {
        master: Option<File>,
    },
}

struct Client {
    stream: UnixStream,
    buffer: Vec<u8>,
}

struct Shim {
    engine: Engine,
    id: String,
    record: Record,
    runtime: RuntimeClient,
    log: LogWriter,
    shim_log: Option<File>,
    output: Output,
    stdin: Option<File>,
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    signals: SignalFd,
    init: i32,
    started: bool,
    start_requested: bool,
    client_pidfd: Option<OwnedFd>,
}

// ANCHOR: daemonize_detach
/// `minibox shim`: detaches from the CLI, then runs the container to its end.
pub fn main(options: ShimOptions) -> i32 {
    // Double fork: the CLI waits for this first process, which exits at
    // once; the second, in a session of its own (setsid was called before
    // exec), is reparented away from the CLI and outlives it.
    // Safety: single-threaded here (just exec'd); the child only continues Rust code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(_) => return 125,
    }
    // Orphans of the container (its runtime's leftovers, a `runc exec`'s
    // process) become our children, not PID 1's: we reap them.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let ready = options.ready_fd.map(|fd| {
        // Safety: the CLI passed us this pipe's write end as this fd number.
        unsafe { File::from_raw_fd(fd) }
    });
    // ANCHOR_END: daemonize_detach
    // ANCHOR: daemonize_report
    match Shim::create(&options) {
        Ok(mut shim) => {
            // A detached run returns once the container runs, as docker's
            // does: `ps` right after `run -d` shows it Up, not Created.
            if shim.start_requested {
                shim.start();
            }
            report(
                ready,
                &Ready {
                    pid: shim.init,
                    error: None,
                    code: 0,
                },
            );
            shim.serve(&options);
            0
        }
        Err(err) => {
            let code = err.exit_code();
            report(
                ready,
                &Ready {
                    pid: 0,
                    error: Some(err.to_string()),
                    code,
                },
            );
            code
        }
    }
}
// ANCHOR_END: daemonize_report

fn report(ready: Option<File>, message: &Ready) {
    if let Some(mut pipe) = ready {
        if let Ok(mut line) = serde_json::to_vec(message) {
            line.push(b'\n');
            let _ = pipe.write_all(&line);
        }
    }
}

impl Shim {
    fn say(&mut self, text: &str) {
        if let Some(file) = &mut self.shim_log {
            let _ = writeln!(file, "{} {text}", ch08_runtime::time::now_rfc3339());
        }
    }

    /// Up to `create`: stdio, the runtime's create, the init's PID recorded.
    fn create(options: &ShimOptions) -> Result<Shim> {
        let engine = Engine::new(&options.root, ch01_chroot::Narrator::silent());
        let id = options.id.clone();
        let paths = engine.containers.paths(&id);
        let record = engine.containers.load(&id)?;
        let runtime = engine.runtime_client(&record)?;
        let shim_log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(paths.shim_log())
            .ok();
        // SIGCHLD and the polite stop signals arrive through a signalfd:
        // blocked first, so none is lost between here and poll(2).
        let mut mask = SigSet::empty();
        for sig in [
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
        ] {
            mask.add(sig);
        }
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
            .map_err(EngineError::sys("sigprocmask"))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(EngineError::sys("signalfd"))?;
        let me = ProcessId::of(std::process::id() as i32);
        engine.containers.update(&id, |s| {
            s.shim = me;
            s.error.clear();
        })?;
        let log = LogWriter::open(&paths.log())?;
        let tty = record.config.tty;
        let console = if tty {
            Some(ConsoleSocket::bind(&paths.console_socket())?)
        } else {
            None
        };
        let (stdio, output, stdin) = if tty {
            let null = dev_null()?;
            let stdio = Stdio3 {
                stdin: null
                    .try_clone()
                    .map_err(EngineError::io("dup", "/dev/null"))?,
                stdout: null
                    .try_clone()
                    .map_err(EngineError::io("dup", "/dev/null"))?,
                stderr: null,
            };
            (stdio, Output::Terminal { master: None }, None)
        } else {
            let (stdin_r, stdin_w) = if record.config.open_stdin {
                let (r, w) = pipe()?;
                (r, Some(File::from(w)))
            } else {
                (dev_null()?, None)
            };
            let (out_r, out_w) = pipe()?;
            let (err_r, err_w) = pipe()?;
            nonblocking(&out_r);
            nonblocking(&err_r);
            let stdio = Stdio3 {
                stdin: stdin_r,
                stdout: out_w,
                stderr: err_w,
            };
            (
                stdio,
                Output::Pipes {
                    out: Some(File::from(out_r)),
                    err: Some(File::from(err_r)),
                },
                stdin_w,
            )
        };
        let mut shim = Shim {
            engine,
            id: id.clone(),
            record,
            runtime,
            log,
            shim_log,
            output,
            stdin,
            listener: None,
            clients: Vec::new(),
            signals,
            init: 0,
            started: false,
            start_requested: !options.wait_start,
            client_pidfd: options.client_pid.and_then(pidfd_open),
        };
        let bundle = paths.bundle();
        shim.say(&format!(
            "runtime: {}",
            shim.runtime.command_line(&[
                "create",
                "--bundle",
                &bundle.display().to_string(),
                id.as_str()
            ])
        ));
        let created = shim.runtime.create(
            &id,
            &bundle,
            &paths.pid_file(),
            console.as_ref().map(|c| c.path()),
            stdio,
        );
        let pid = match created {
            Ok(pid) => pid,
            Err(err) => {
                shim.say(&format!("create failed: {err}"));
                shim.fail(&err);
                return Err(err);
            }
        };
        shim.init = pid;
        if let Some(console) = &console {
            match console.receive_master() {
                Ok(master) => {
                    nonblocking(&master);
                    let file = File::from(master);
                    shim.stdin = file.try_clone().ok();
                    shim.output = Output::Terminal { master: Some(file) };
                }
                Err(err) => {
                    shim.fail(&err);
                    return Err(err);
                }
            }
        }
        drop(console);
        let handle = cgroup::of_pid(&id, pid);
        shim.engine.containers.update(&id, |s| {
            s.pid = pid;
            s.init = ProcessId::of(pid);
            s.cgroup = handle;
        })?;
        let listener = UnixListener::bind({
            let p = paths.attach_socket();
            let _ = std::fs::remove_file(&p);
            p
        })
        .map_err(EngineError::io("listening on", paths.attach_socket()))?;
        listener
            .set_nonblocking(true)
            .map_err(EngineError::io("configuring", paths.attach_socket()))?;
        shim.listener = Some(listener);
        // Chapter 09: the namespace exists, the command has not started yet.
        match crate::engine::network::attach(&shim.record, pid, &paths.dir) {
            Ok(Some(attachment)) => {
                shim.say(&format!(
                    "network: {} on {} (host end {})",
                    attachment.ip, attachment.bridge, attachment.host_veth
                ));
                let record = attachment.clone();
                if let Err(err) = shim
                    .engine
                    .containers
                    .update(&id, |s| s.network = Some(record))
                {
                    let _ = ch09_network::detach(&attachment, &ch01_chroot::Narrator::silent());
                    shim.fail(&err);
                    return Err(err);
                }
            }
            Ok(None) => {}
            Err(err) => {
                shim.say(&format!("network failed: {err}"));
                shim.fail(&err);
                return Err(err);
            }
        }
        shim.say(&format!("created: init PID {pid}"));
        Ok(shim)
    }

    /// A create that failed: the runtime's leftovers removed, the overlay
    /// unmounted, the error recorded (docker keeps such a container as created).
    fn fail(&mut self, err: &EngineError) {
        let _ = self.runtime.delete(&self.id, true);
        let paths = self.engine.containers.paths(&self.id);
        let _ = crate::engine::rootfs::unmount(&paths);
        let message = err.to_string();
        let code = err.exit_code();
        let _ = self.engine.containers.update(&self.id, |s| {
            *s = State {
                error: message,
                exit_code: code,
                ..State::created()
            };
        });
        if self.record.host_config.auto_remove {
            let _ = self.engine.remove_files(&self.id);
        }
    }

    // ANCHOR: serve
    /// From created to the end: start (now, or on the client's word),
    /// relay output and input, reap, record the exit, clean up.
    fn serve(&mut self, _options: &ShimOptions) {
        if self.start_requested {
            self.start();
        }
        let status = loop {
            if let Some(status) = self.wait_once() {
                break status;
            }
        };
        self.drain();
        self.finish(status);
    }
    // ANCHOR_END: serve

    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        self.say(&format!(
            "runtime: {}",
            self.runtime.command_line(&["start", &self.id])
        ));
        match self.runtime.start(&self.id) {
            Ok(()) => {
                let now = ch08_runtime::time::now_rfc3339();
                let _ = self.engine.containers.update(&self.id, |s| {
                    s.status = Status::Running;
                    s.started_at = now;
                });
            }
            Err(err) => {
                self.say(&format!("start failed: {err}"));
                let _ = self.runtime.kill(&self.id, Signal::SIGKILL, true);
                let _ = self
                    .engine
                    .containers
                    .update(&self.id, |s| s.error = err.to_string());
            }
        }
    }

    /// One poll(2): returns the init's wait status once it has ended.
    fn wait_once(&mut self) -> Option<WaitStatus> {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut push = |fd: RawFd| {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        };
        push(self.signals.as_raw_fd());
        match &self.output {
            Output::Pipes { out, err } => {
                push(out.as_ref().map_or(-1, |f| f.as_raw_fd()));
                push(err.as_ref().map_or(-1, |f| f.as_raw_fd()));
            }
            Output::Terminal { master } => {
                push(master.as_ref().map_or(-1, |f| f.as_raw_fd()));
                push(-1);
            }
        }
        push(self.listener.as_ref().map_or(-1, |l| l.as_raw_fd()));
        push(if self.started {
            -1
        } else {
            self.client_pidfd.as_ref().map_or(-1, |f| f.as_raw_fd())
        });
        for client in &self.clients {
            push(client.stream.as_raw_fd());
        }
        // Safety: fds is a valid array of pollfd for the length given.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            return None;
        }
        let ready = |i: usize| fds.get(i).is_some_and(|f| f.revents != 0);
        // Only the clients that were polled (accepting below adds more).
        let polled = self.clients.len();
        if ready(1) || ready(2) {
            self.relay_output(ready(1), ready(2));
        }
        if ready(3) {
            self.accept_clients();
        }
        if ready(4) {
            // The CLI that was to attach died before saying START: start anyway.
            self.client_pidfd = None;
            self.start();
        }
        let client_events: Vec<bool> = (0..polled).map(|i| ready(5 + i)).collect();
        self.serve_clients(&client_events);
        if !self.started && self.start_requested {
            self.start();
        }
        if ready(0) {
            return self.reap();
        }
        None
    }

    /// SIGCHLD (or a stop signal, which we do not act on: the container's
    /// fate is decided through the runtime). Reaps every child that ended.
    fn reap(&mut self) -> Option<WaitStatus> {
        while let Ok(Some(_)) = self.signals.read_signal() {}
        let mut init_status = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(status) => {
                    if status.pid() == Some(Pid::from_raw(self.init)) {
                        init_status = Some(status);
                    }
                }
            }
        }
        init_status
    }

    fn relay_output(&mut self, out_ready: bool, err_ready: bool) {
        let mut chunks: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut buf = [0u8; 32 * 1024];
        match &mut self.output {
            Output::Pipes { out, err } => {
                for (stream, file, ready) in [(0, out, out_ready), (1, err, err_ready)] {
                    if !ready {
                        continue;
                    }
                    if let Some(f) = file {
                        match f.read(&mut buf) {
                            Ok(0) => *file = None,
                            Ok(n) => chunks.push((stream, buf[..n].to_vec())),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(_) => *file = None,
                        }
                    }
                }
            }
            Output::Terminal { master } => {
                if let Some(f) = master {
                    match f.read(&mut buf) {
                        Ok(0) => *master = None,
                        Ok(n) => chunks.push((0, buf[..n].to_vec())),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        // EIO: every slave descriptor is closed — the container is gone.
                        Err(_) => *master = None,
                    }
                }
            }
        }
        for (stream, bytes) in chunks {
            self.log.write(stream, &bytes);
            let kind = if stream == 0 {
                protocol::STDOUT
            } else {
                protocol::STDERR
            };
            self.clients
                .retain_mut(|c| protocol::write_frame(&mut c.stream, kind, &bytes).is_ok());
        }
    }

    fn accept_clients(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            // Writes block, bounded: a client that stops reading is dropped, the container goes on.
            let blocking = stream.try_clone().ok();
            if let Some(s) = &blocking {
                let _ = s.set_nonblocking(true);
            }
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            self.clients.push(Client {
                stream,
                buffer: Vec::new(),
            });
        }
    }

    fn serve_clients(&mut self, events: &[bool]) {
        let mut gone = Vec::new();
        let mut frames = Vec::new();
        for (i, client) in self.clients.iter_mut().enumerate() {
            if !events.get(i).copied().unwrap_or(false) {
                continue;
            }
            let mut buf = [0u8; 16 * 1024];
            match client.stream.read(&mut buf) {
                Ok(0) => gone.push(i),
                Ok(n) => {
                    client.buffer.extend_from_slice(&buf[..n]);
                    frames.extend(protocol::take_frames(&mut client.buffer));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => gone.push(i),
            }
        }
        for i in gone.into_iter().rev() {
            self.clients.remove(i);
            // The attached CLI went away before START (killed): start anyway.
            if !self.started {
                self.start_requested = true;
            }
        }
        for (kind, payload) in frames {
            match kind {
                protocol::START => self.start_requested = true,
                protocol::STDIN => {
                    if let Some(stdin) = &mut self.stdin {
                        if stdin.write_all(&payload).is_err() {
                            self.stdin = None;
                        }
                    }
                }
                protocol::STDIN_CLOSE => {
                    if self.record.config.tty {
                        // A terminal has no EOF to close: ^D at the start of a line is one.
                        if let Some(stdin) = &mut self.stdin {
                            let _ = stdin.write_all(&[4]);
                        }
                    } else {
                        self.stdin = None;
                    }
                }
                protocol::RESIZE if payload.len() == 4 => {
                    let rows = u16::from_be_bytes([payload[0], payload[1]]);
                    let cols = u16::from_be_bytes([payload[2], payload[3]]);
                    if let Output::Terminal {
                        master: Some(master),
                    } = &self.output
                    {
                        set_size(master, rows, cols);
                    }
                }
                _ => {}
            }
        }
    }

    /// After the init ended: what is still in the pipes goes to the log.
    /// The rest of the container dies with its PID 1, which closes the
    /// write ends; we wait (bounded) for that end of file.
    fn drain(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let mut fds: Vec<libc::pollfd> = match &self.output {
                Output::Pipes { out, err } => [out, err]
                    .iter()
                    .filter_map(|f| f.as_ref())
                    .map(|f| f.as_raw_fd())
                    .collect::<Vec<RawFd>>(),
                Output::Terminal { master } => {
                    master.iter().map(|f| f.as_raw_fd()).collect::<Vec<RawFd>>()
                }
            }
            .into_iter()
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if fds.is_empty() || left.is_zero() {
                break;
            }
            // Safety: a valid pollfd array of the length given.
            let n = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    left.as_millis() as i32,
                )
            };
            if n <= 0 {
                break;
            }
            let ready: Vec<bool> = fds.iter().map(|f| f.revents != 0).collect();
            let (a, b) = (
                ready.first().copied().unwrap_or(false),
                ready.get(1).copied().unwrap_or(false),
            );
            match &self.output {
                Output::Pipes { out, .. } if out.is_none() => self.relay_output(false, a),
                _ => self.relay_output(a, b),
            }
        }
        self.log.flush();
    }

    // ANCHOR: finish
    /// The container ended: OOM verdict from its cgroup's counters, the
    /// runtime's delete, the overlay unmounted, the state recorded — then
    /// the attached clients hear the exit code; `--rm` removes everything.
    fn finish(&mut self, status: WaitStatus) {
        let exit = Exit::from_wait_status(status).unwrap_or(Exit::Code(255));
        let state = self.engine.containers.state(&self.id).ok();
        let handle = state.as_ref().and_then(|s| s.cgroup.clone());
        let oom = handle
            .as_ref()
            .map(|h| {
                ch03_cgroups::OomVerdict::from_stats(
                    &h.open(&ch01_chroot::Narrator::silent()).stats(),
                    exit,
                )
                .is_oom()
            })
            .unwrap_or(false);
        self.say(&format!(
            "init {} {exit}{}",
            self.init,
            if oom { " (OOM killed)" } else { "" }
        ));
        self.say(&format!(
            "runtime: {}",
            self.runtime.command_line(&["delete", "--force", &self.id])
        ));
        if let Err(err) = self.runtime.delete(&self.id, true) {
            self.say(&format!("delete failed: {err}"));
        }
        if let Some(handle) = &handle {
            if cgroup::exists(handle) {
                let _ = handle.remove(&ch01_chroot::Narrator::silent());
            }
        }
        if let Some(state) = &state {
            crate::engine::network::detach(&self.record, state, &ch01_chroot::Narrator::silent());
        }
        let paths = self.engine.containers.paths(&self.id);
        if let Err(err) = crate::engine::rootfs::unmount(&paths) {
            self.say(&format!("unmounting the rootfs: {err}"));
        }
        let now = ch08_runtime::time::now_rfc3339();
        let code = exit.shell_code();
        let _ = self.engine.containers.update(&self.id, |s| {
            s.status = Status::Exited;
            s.exit_code = code;
            s.oom_killed = oom;
            s.finished_at = now;
            s.pid = 0;
            s.init = None;
            s.shim = None;
            s.mounted = false;
            s.network = None;
        });
        if self.record.host_config.auto_remove {
            let _ = self.engine.remove_files(&self.id);
        }
        let _ = std::fs::remove_file(paths.attach_socket());
        let text = code.to_string();
        for client in &mut self.clients {
            let _ = client.stream.set_nonblocking(false);
            let _ = protocol::write_frame(&mut client.stream, protocol::EXIT, text.as_bytes());
        }
    }
    // ANCHOR_END: finish
}

/// pidfd_open(2): a descriptor that becomes readable when the process ends.
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // Safety: plain syscall; a valid fd or -1 comes back.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // Safety: the kernel just gave us this descriptor.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
