//! Each docker-like command: parse, call the engine, print what docker prints.

use super::{attach, follow, tables, trainer};
use crate::{Command, ContainerFlags};
use anyhow::Context;
use ch01_chroot::Verbosity;
use minibox::engine::create::ContainerOptions;
use minibox::engine::exec::ExecRequest;
use minibox::engine::ids::short;
use minibox::engine::logs::Entry;
use minibox::engine::record::Status;
use minibox::{Engine, EngineError};
use std::io::Write;
use std::time::Duration;

fn out(line: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").context("writing to stdout")
}

fn options(flags: &ContainerFlags, rm: bool) -> ContainerOptions {
    ContainerOptions {
        image: flags.image.clone(),
        args: flags.command.clone(),
        name: flags.name.clone(),
        env: flags.env.clone(),
        env_files: flags.env_file.clone(),
        volumes: flags.volume.clone(),
        tmpfs: flags.tmpfs.clone(),
        workdir: flags.workdir.clone(),
        user: flags.user.clone(),
        group_add: flags.group_add.clone(),
        ulimits: flags.ulimit.clone(),
        hostname: flags.hostname.clone(),
        entrypoint: flags.entrypoint.clone(),
        memory: flags.memory.clone(),
        cpus: flags.cpus,
        pids_limit: flags.pids_limit,
        read_only: flags.read_only,
        cap_add: flags.cap_add.clone(),
        cap_drop: flags.cap_drop.clone(),
        security_opt: flags.security_opt.clone(),
        privileged: flags.privileged,
        network: flags.network.clone(),
        publish: flags.publish.clone(),
        dns: flags.dns.clone(),
        add_host: flags.add_host.clone(),
        init: flags.init,
        runtime: flags.runtime.clone(),
        auto_remove: rm,
        tty: flags.tty,
        interactive: flags.interactive,
    }
}

fn find(engine: &Engine, name: &str) -> anyhow::Result<String> {
    Ok(engine.containers.find(name)?)
}

pub fn dispatch(engine: &Engine, command: Command, verbosity: Verbosity) -> anyhow::Result<i32> {
    match command {
        Command::Pull { image } => {
            let image = engine.pull(&image)?;
            out(&image.reference.to_string())?;
            Ok(0)
        }
        Command::Push { image, destination } => {
            engine.push(&image, destination.as_deref())?;
            Ok(0)
        }
        Command::Images => {
            let mut rows = vec![vec![
                "REPOSITORY".into(),
                "TAG".into(),
                "IMAGE ID".into(),
                "CREATED".into(),
                "SIZE".into(),
            ]];
            for r in engine.images()? {
                rows.push(vec![
                    r.repository,
                    r.tag,
                    r.id,
                    tables::ago(&r.created),
                    tables::size(r.size),
                ]);
            }
            tables::print(&rows)?;
            Ok(0)
        }
        Command::Rmi { force, images } => {
            for image in images {
                out(&engine.remove_image(&image, force)?)?;
            }
            Ok(0)
        }
        Command::Import { path, name } => {
            let image = engine.import(&path, Some(&name))?;
            out(&image.config_digest.to_string())?;
            Ok(0)
        }
        Command::Load { input } => {
            let image = engine.import(&input, None)?;
            out(&format!("Loaded image: {}", image.reference.familiar()))?;
            Ok(0)
        }
        Command::Save { output, image } => {
            engine.save(&image, &output)?;
            Ok(0)
        }
        Command::Tag { source, target } => {
            engine.tag(&source, &target)?;
            Ok(0)
        }
        Command::Create { rm, flags } => {
            let record = engine.create(&options(&flags, rm))?;
            out(&record.id)?;
            Ok(0)
        }
        Command::Run {
            rm,
            detach,
            pause,
            flags,
        } => run(engine, &flags, rm, detach, pause, verbosity),
        Command::Start {
            attach: attached,
            interactive,
            containers,
        } => {
            for name in containers {
                let id = find(engine, &name)?;
                if attached {
                    let record = engine.containers.load(&id)?;
                    engine.prepare(&id)?;
                    return foreground(
                        engine,
                        &id,
                        record.config.tty,
                        interactive && record.config.open_stdin,
                        false,
                    );
                }
                engine.start(&id)?;
                out(&name)?;
            }
            Ok(0)
        }
        Command::Ps {
            all,
            quiet,
            no_trunc,
        } => {
            let mut rows = vec![vec![
                "CONTAINER ID".into(),
                "IMAGE".into(),
                "COMMAND".into(),
                "CREATED".into(),
                "STATUS".into(),
                "PORTS".into(),
                "NAMES".into(),
            ]];
            for (record, state) in engine.list() {
                if !all && !state.is_running() {
                    continue;
                }
                if quiet {
                    out(if no_trunc {
                        &record.id
                    } else {
                        short(&record.id)
                    })?;
                    continue;
                }
                let mut command = record.config.path_and_args.join(" ");
                if !no_trunc && command.chars().count() > 20 {
                    command = format!("{}…", command.chars().take(19).collect::<String>());
                }
                let status = match state.status {
                    Status::Running => format!("Up {}", tables::since(&state.started_at)),
                    Status::Exited => format!(
                        "Exited ({}) {}",
                        state.exit_code,
                        tables::ago(&state.finished_at)
                    ),
                    Status::Created => "Created".into(),
                    Status::Dead => "Dead".into(),
                };
                let id = if no_trunc {
                    record.id.clone()
                } else {
                    short(&record.id).to_string()
                };
                rows.push(vec![
                    id,
                    record.image_ref.clone(),
                    format!("\"{command}\""),
                    tables::ago(&record.created),
                    status,
                    minibox::engine::network::ps_ports(&state),
                    record.name.clone(),
                ]);
            }
            if !quiet {
                tables::print(&rows)?;
            }
            Ok(0)
        }
        Command::Logs {
            follow: following,
            tail,
            timestamps,
            container,
        } => {
            let id = find(engine, &container)?;
            let print = |e: &Entry| {
                let text = if timestamps {
                    format!("{} {}", e.time, e.log)
                } else {
                    e.log.clone()
                };
                if e.stream == "stderr" {
                    let _ = std::io::stderr().write_all(text.as_bytes());
                } else {
                    let mut stdout = std::io::stdout();
                    let _ = stdout.write_all(text.as_bytes());
                    let _ = stdout.flush();
                }
            };
            let start = follow::log_len(engine, &id);
            let entries = minibox::engine::logs::read_all(&engine.containers.paths(&id).log());
            let skip = match tail.as_deref() {
                None | Some("all") => 0,
                Some(n) => {
                    let n: usize = n.parse().map_err(|_| {
                        EngineError::Invalid(format!("--tail {n:?}: give a number or all"))
                    })?;
                    entries.len().saturating_sub(n)
                }
            };
            for e in entries.iter().skip(skip) {
                print(e);
            }
            if following {
                follow::follow(engine, &id, start, &print)?;
            }
            Ok(0)
        }
        Command::Exec {
            interactive,
            tty,
            env,
            user,
            workdir,
            container,
            command,
        } => {
            let id = find(engine, &container)?;
            let signals = attach::signal_fd()?;
            let started = engine.exec(
                &id,
                &ExecRequest {
                    command,
                    env,
                    user,
                    workdir,
                    tty,
                },
            )?;
            if let Some(master) = started.master {
                attach::relay_pty(master, started.pid, interactive, &signals)?;
            }
            let exit = ch01_chroot::process::wait_for_exit(nix::unistd::Pid::from_raw(started.pid))
                .map_err(|e| EngineError::Sys {
                    call: "waitpid",
                    errno: e,
                })?;
            Ok(exit.shell_code())
        }
        Command::Stop { time, containers } => {
            for name in containers {
                let id = find(engine, &name)?;
                engine.stop(&id, Duration::from_secs(time))?;
                out(&name)?;
            }
            Ok(0)
        }
        Command::Kill { signal, containers } => {
            let sig = ch08_runtime::signal::parse(&signal)?;
            for name in containers {
                let id = find(engine, &name)?;
                engine.kill(&id, sig)?;
                out(&name)?;
            }
            Ok(0)
        }
        Command::Rm { force, containers } => {
            for name in containers {
                let id = find(engine, &name)?;
                engine.remove(&id, force)?;
                out(&name)?;
            }
            Ok(0)
        }
        Command::Top { container } => {
            let id = find(engine, &container)?;
            let state = engine.reconcile(&id)?;
            let running = state.is_running();
            let handle = state.cgroup.filter(|_| running).ok_or_else(|| {
                EngineError::Conflict(format!("container {} is not running", short(&id)))
            })?;
            let mut rows = vec![vec![
                "UID".into(),
                "PID".into(),
                "PPID".into(),
                "CMD".into(),
            ]];
            for pid in handle.open(&ch01_chroot::Narrator::silent()).procs() {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let field = |k: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(k))
                        .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
                        .unwrap_or_default()
                };
                let cmd = String::from_utf8_lossy(
                    &std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default(),
                )
                .replace('\0', " ");
                rows.push(vec![
                    field("Uid:"),
                    pid.to_string(),
                    field("PPid:"),
                    cmd.trim().to_string(),
                ]);
            }
            tables::print(&rows)?;
            Ok(0)
        }
        Command::Stats {
            no_stream,
            containers,
        } => stats(engine, &containers, no_stream),
        Command::Diff { container } => {
            let id = find(engine, &container)?;
            let plan = minibox::engine::rootfs::load(&engine.containers.paths(&id))?;
            let lowers = plan.lowers.clone();
            for change in ch04_overlay::diff(&plan.upper, &lowers, plan.xattrs())? {
                out(&change.to_string())?;
            }
            Ok(0)
        }
        Command::Commit { container, image } => {
            let id = find(engine, &container)?;
            out(&engine.commit(&id, &image)?.to_string())?;
            Ok(0)
        }
        Command::Port {
            container,
            private_port,
        } => {
            let id = find(engine, &container)?;
            let state = engine.reconcile(&id)?;
            for line in minibox::engine::network::port_lines(&state, private_port.as_deref())? {
                out(&line)?;
            }
            Ok(0)
        }
        Command::Inspect { names } => {
            let mut all = Vec::new();
            for name in &names {
                match engine.containers.find(name) {
                    Ok(id) => {
                        let state = engine.reconcile(&id)?;
                        let record = engine.containers.load(&id)?;
                        all.push(minibox::engine::inspect::container(engine, &record, &state));
                    }
                    Err(_) => {
                        let image = engine.image(name, false)?;
                        let store = engine.store()?;
                        all.push(ch05_images::inspect::inspect(&store, &image));
                    }
                }
            }
            out(&serde_json::to_string_pretty(&all)?)?;
            Ok(0)
        }
        Command::Doctor { .. } | Command::Rootfs { .. } | Command::Shim { .. } => Ok(0),
    }
}

// ANCHOR: run
/// `run`: create, prepare (overlay + bundle), the shim, then either print
/// the id (`-d`) or attach and return the container's exit code.
fn run(
    engine: &Engine,
    flags: &ContainerFlags,
    rm: bool,
    detach: bool,
    pause: bool,
    verbosity: Verbosity,
) -> anyhow::Result<i32> {
    let n = &engine.narrator;
    let record = engine.create(&options(flags, rm))?;
    let id = record.id.clone();
    n.step(&format!(
        "image {} → {} ({} layer(s))",
        record.image_ref,
        record.image_id,
        record.layers.len()
    ));
    for (i, layer) in record.layers.iter().enumerate() {
        n.detail(&format!("  lowerdir {i}: {}", layer.display()));
    }
    n.step(&format!(
        "container {} \"{}\" recorded in {}",
        short(&id),
        record.name,
        engine.containers.paths(&id).dir.display()
    ));
    let prepared = engine.prepare(&id);
    if let Err(err) = prepared {
        if rm {
            let _ = engine.remove_files(&id);
        }
        return Err(err.into());
    }
    let paths = engine.containers.paths(&id);
    n.syscall(
        &format!(
            "mount(\"overlay\", {}, \"overlay\")",
            paths.rootfs().display()
        ),
        "chapter 04: the image's layers + this container's upper/, on the host",
    );
    n.step(&format!(
        "bundle written: {}",
        paths.config_json().display()
    ));
    if pause {
        trainer::bundle_written(engine, &id);
    }
    if detach && !pause {
        let init = engine.launch(&id, false)?;
        narrate_launch(engine, &id, init);
        out(&id)?;
        return Ok(0);
    }
    let tty = flags.tty;
    if detach {
        let code = start_paused(engine, &id, verbosity)?;
        out(&id)?;
        return Ok(code);
    }
    foreground(engine, &id, tty, flags.interactive, pause)
}
// ANCHOR_END: run

fn narrate_launch(engine: &Engine, id: &str, init: i32) {
    let n = &engine.narrator;
    let shim = engine
        .containers
        .state(id)
        .ok()
        .and_then(|s| s.shim)
        .map_or(0, |s| s.pid);
    if let Ok(record) = engine.containers.load(id) {
        if let Ok(client) = engine.runtime_client(&record) {
            n.step(&format!(
                "shim PID {shim}: {}",
                client.command_line(&[
                    "create",
                    "--bundle",
                    &engine.containers.paths(id).bundle().display().to_string(),
                    id
                ])
            ));
        }
    }
    n.observe(&format!("container init PID {init} (host)"));
}

fn start_paused(engine: &Engine, id: &str, _verbosity: Verbosity) -> anyhow::Result<i32> {
    let init = engine.launch(id, true)?;
    narrate_launch(engine, id, init);
    trainer::created(engine, id, init);
    let mut stream = attach::connect(engine, id)?;
    attach::start(&mut stream, false)?;
    drop(stream);
    trainer::running(engine, id, init);
    Ok(0)
}

/// Launch with the shim waiting for us, attach, start, relay.
fn foreground(
    engine: &Engine,
    id: &str,
    tty: bool,
    stdin: bool,
    pause: bool,
) -> anyhow::Result<i32> {
    // Signals are blocked (for the signalfd) before the container exists.
    let signals = attach::signal_fd()?;
    let init = engine.launch(id, true)?;
    narrate_launch(engine, id, init);
    if pause {
        trainer::created(engine, id, init);
    }
    let mut stream = attach::connect(engine, id)?;
    attach::start(&mut stream, tty)?;
    if pause {
        // After START: what the host commands show is the running container.
        trainer::running(engine, id, init);
    }
    attach::run(engine, id, stream, stdin, tty, &signals)
}

fn stats(engine: &Engine, names: &[String], no_stream: bool) -> anyhow::Result<i32> {
    let ids: Vec<String> = if names.is_empty() {
        engine
            .list()
            .into_iter()
            .filter(|(_, s)| s.is_running())
            .map(|(r, _)| r.id)
            .collect()
    } else {
        names
            .iter()
            .map(|n| find(engine, n))
            .collect::<anyhow::Result<_>>()?
    };
    loop {
        let sample = |id: &String| {
            engine
                .containers
                .state(id)
                .ok()
                .and_then(|s| s.cgroup)
                .map(|h| h.open(&ch01_chroot::Narrator::silent()).stats())
        };
        let first: Vec<_> = ids.iter().map(sample).collect();
        let interval = Duration::from_millis(500);
        std::thread::sleep(interval);
        let mut rows = vec![vec![
            "CONTAINER ID".into(),
            "NAME".into(),
            "CPU %".into(),
            "MEM USAGE / LIMIT".into(),
            "MEM %".into(),
            "PIDS".into(),
        ]];
        for (id, before) in ids.iter().zip(first) {
            let name = engine
                .containers
                .load(id)
                .map(|r| r.name)
                .unwrap_or_default();
            let now = sample(id);
            let cpu = match (&now, &before) {
                (Some(n), Some(b)) => n
                    .cpu_percent_since(b, interval)
                    .map_or("--".into(), |p| format!("{p:.2}%")),
                _ => "--".into(),
            };
            let (mem, pct, pids) = match &now {
                Some(s) => {
                    let used = s.memory_current.unwrap_or(0);
                    let limit = s.memory_limit.unwrap_or(0);
                    let pct = if limit > 0 {
                        format!("{:.2}%", used as f64 * 100.0 / limit as f64)
                    } else {
                        "--".into()
                    };
                    (
                        format!(
                            "{} / {}",
                            ch03_cgroups::format_bytes(used),
                            if limit > 0 {
                                ch03_cgroups::format_bytes(limit)
                            } else {
                                "unlimited".into()
                            }
                        ),
                        pct,
                        s.pids_current.unwrap_or(0).to_string(),
                    )
                }
                None => ("--".into(), "--".into(), "--".into()),
            };
            rows.push(vec![short(id).to_string(), name, cpu, mem, pct, pids]);
        }
        tables::print(&rows)?;
        if no_stream {
            return Ok(0);
        }
    }
}
