//! Many containers on one set of layers: each sees only its own writes, and
//! each costs only its upper directory on disk.

mod common;

use common::*;
use std::process::Command;

/// `du -sk PATH`, in bytes: what the disk says, measured by a tool that is
/// not ours. `-sk` is POSIX, so GNU du and busybox du (the VM lane) agree.
fn du(path: &std::path::Path) -> u64 {
    let output = output_within(Command::new("du").arg("-sk").arg(path), DEADLINE);
    let kib: u64 = text(&output)
        .0
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("du -sk {}: {:?}", path.display(), text(&output)));
    kib * 1024
}

/// The container inits (host PIDs) that `supervisor` has started, by their process title.
fn inits_of(supervisor: u32) -> Vec<String> {
    let mut titles = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The parent PID is the 2nd field after the ")" that closes the command name.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1));
        if ppid == Some(&*supervisor.to_string()) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            titles.push(
                String::from_utf8_lossy(&cmdline)
                    .replace('\0', " ")
                    .trim()
                    .to_string(),
            );
        }
    }
    titles.sort();
    titles
}

#[test]
fn two_containers_on_one_lower_run_together_and_do_not_see_each_others_writes() {
    if !require_root("two_containers_on_one_lower_run_together_and_do_not_see_each_others_writes") {
        return;
    }
    let layers = Layers::new();
    // Both write /who, wait, then read it back.
    let child = layers
        .command()
        .args(["--many", "2", "--keep", "--"])
        .args([
            "sh",
            "-c",
            "echo $HOSTNAME > /who; sleep 2; echo \"$HOSTNAME sees $(cat /who)\"",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Both containers must be alive at the same time: two inits under one supervisor.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut together = false;
    while !together && std::time::Instant::now() < deadline {
        let inits = inits_of(child.id());
        together = inits.iter().any(|t| t.contains("ch04-1"))
            && inits.iter().any(|t| t.contains("ch04-2"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = collect_within(child, DEADLINE, "ch04-overlay --many 2");
    assert_exit(&output, 0);
    assert!(together, "the two containers never ran at the same time");
    let (stdout, _) = text(&output);
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, ["ch04-1 sees ch04-1", "ch04-2 sees ch04-2"]);
    let kept = layers.kept();
    assert_eq!(kept.len(), 2);
    let mut whos: Vec<String> = kept.iter().map(|s| read(&s.join("upper/who"))).collect();
    whos.sort();
    assert_eq!(whos, ["ch04-1\n", "ch04-2\n"]);
    assert!(
        !layers.rootfs.path().join("who").exists(),
        "nothing reached the lower layer"
    );
}

#[test]
fn many_containers_cost_only_their_upper_dirs() {
    if !require_root("many_containers_cost_only_their_upper_dirs") {
        return;
    }
    if !minibox_testkit::require_tool("many_containers_cost_only_their_upper_dirs", "du") {
        return;
    }
    let layers = Layers::new();
    let output = layers.run(
        &["--many", "4", "--keep"],
        &["sh", "-c", "head -c 100000 /dev/zero > /data"],
    );
    assert_exit(&output, 0);
    let (_, stderr) = text(&output);
    assert!(stderr.contains("disk usage"), "{stderr}");

    let lower = du(layers.rootfs.path());
    let kept = layers.kept();
    assert_eq!(kept.len(), 4);
    for state in &kept {
        let upper = du(&state.join("upper"));
        // 100 kB of data plus a directory block or two; never a copy of the image.
        assert!((100_000..200_000).contains(&upper), "upper {upper} bytes");
        assert!(upper * 5 < lower, "upper {upper} vs lower {lower}");
    }
    let all_uppers: u64 = kept.iter().map(|s| du(&s.join("upper"))).sum();
    assert!(
        all_uppers < lower,
        "4 containers ({all_uppers} B) cost less than one copy of the image ({lower} B)"
    );
}
