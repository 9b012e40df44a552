//! PID 1: exit codes, signals, zombies.

mod common;

use common::{command, run_in, Running};
use minibox_testkit::{require_root, Rootfs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[test]
fn exit_codes_propagate() {
    if !require_root("exit_codes_propagate") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for (flags, script, code) in [
        (&["--pid"][..], "exit 0", 0),
        (&["--pid"][..], "exit 7", 7),
        (&["--mount"][..], "exit 42", 42),
        (&["--all"][..], "exit 3", 3),
        (&["--pid"][..], "kill -TERM $$", 143),
        (&["--pid"][..], "kill -KILL $$", 137),
    ] {
        let out = run_in(rootfs.path(), flags, script);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{flags:?} {script}: {:?}",
            minibox_testkit::text(&out)
        );
    }
    let out = minibox_testkit::run(&mut command(
        rootfs.path(),
        &["--pid"],
        &["no-such-command"],
    ));
    assert_eq!(out.status.code(), Some(127));
    assert!(minibox_testkit::text(&out).1.contains("not found inside"));
}

#[test]
fn signals_to_init_are_forwarded_to_the_command() {
    if !require_root("signals_to_init_are_forwarded_to_the_command") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for flags in [&["--pid"][..], &["--mount"][..], &["--all"][..]] {
        let mut running = Running::start(&rootfs, flags, &["sleep", "30"], "sleep");
        // PID 1 of a namespace ignores signals it has no handler for; ours
        // blocks them, takes them with sigwait and passes them on.
        kill(Pid::from_raw(running.init), Signal::SIGTERM).unwrap_or_else(|e| panic!("kill: {e}"));
        assert_eq!(
            running.wait(),
            Some(143),
            "{flags:?}: SIGTERM reached sleep"
        );
    }
    // A SIGKILL to the command from the host: 128 + 9.
    let running = Running::start(&rootfs, &["--pid"], &["sleep", "30"], "sleep");
    assert_eq!(running.stop(), Some(137));
}

#[test]
fn orphaned_zombies_are_reaped() {
    if !require_root("orphaned_zombies_are_reaped") {
        return;
    }
    let rootfs = Rootfs::busybox();
    for flags in [&["--pid"][..], &["--mount"][..]] {
        // The subshell exits at once, so its `sleep 0.2` is orphaned and
        // re-parented to PID 1 (or to our subreaper without --pid). When it
        // exits, only init can reap it: soon only the command may be left
        // among init's children — an unreaped zombie would stay there for
        // good. (Polled, not a fixed wait: under emulation a `sleep 0.2`
        // can take a second to start and end.)
        let mut running = Running::start(
            &rootfs,
            flags,
            &["sh", "-c", "(sleep 0.2 &); exec sleep 4"],
            "sleep",
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(3500);
        let kids = loop {
            let children =
                std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", running.init))
                    .unwrap_or_default();
            let kids: Vec<String> = children.split_whitespace().map(String::from).collect();
            if kids == [running.command.to_string()] || std::time::Instant::now() > deadline {
                break kids;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(
            kids,
            vec![running.command.to_string()],
            "{flags:?}: only the command is left"
        );
        for pid in kids {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            assert!(!stat.contains(") Z "), "zombie: {stat}");
        }
        assert_eq!(running.wait(), Some(0));
    }
}

#[test]
fn process_names_tell_the_story() {
    if !require_root("process_names_tell_the_story") {
        return;
    }
    let rootfs = Rootfs::busybox();
    let running = Running::start(
        &rootfs,
        &["--pid", "--name", "demo"],
        &["sleep", "30"],
        "sleep",
    );
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", running.init)).unwrap_or_default();
    assert_eq!(comm.trim(), "minibox-init");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", running.init)).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(cmdline.starts_with("minibox-init demo"), "{cmdline:?}");
    running.stop();
}
