//! Nothing is left behind — no mount, no state directory — however the
//! container ends: normally, with an error, killed, or when we are told to stop.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn no_mount_or_directory_is_left_behind() {
    if !require_root("no_mount_or_directory_is_left_behind") {
        return;
    }
    let layers = Layers::new();
    let before = mount_table();
    for (argv, code) in [
        (&["true"][..], 0),
        (&["sh", "-c", "echo x > /x; exit 7"][..], 7),
        (&["sh", "-c", "echo x > /x; kill -9 $$"][..], 137),
        (&["/no/such/command"][..], 127),
    ] {
        let output = layers.run(&["-q"], argv);
        assert_exit(&output, code);
        assert!(
            layers.kept().is_empty(),
            "{argv:?} left {:?}",
            layers.kept()
        );
        assert!(
            mounts_under(layers.state.path()).is_empty(),
            "{argv:?} leaked a mount"
        );
    }
    let after = mount_table();
    let appeared: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    assert!(
        appeared
            .iter()
            .all(|l| !l.contains(&*layers.state.path().to_string_lossy())
                && !l.contains(" overlay ")),
        "new mounts: {appeared:?}"
    );
}

#[test]
fn sigterm_to_the_supervisor_stops_the_container_and_cleans_up() {
    if !require_root("sigterm_to_the_supervisor_stops_the_container_and_cleans_up") {
        return;
    }
    let layers = Layers::new();
    let mut child = layers
        .command()
        .args(["-q", "--", "sh", "-c", "echo x > /x; exec sleep 30"])
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let supervisor = nix::unistd::Pid::from_raw(child.id() as i32);
    // Wait until the container has written into its upper layer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !layers.kept().iter().any(|s| s.join("upper/x").exists()) {
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(supervisor, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SIGTERM did not reach the container");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "sleep died of the forwarded SIGTERM"
    );
    assert!(layers.kept().is_empty(), "{:?}", layers.kept());
    assert!(mounts_under(layers.state.path()).is_empty());
}
