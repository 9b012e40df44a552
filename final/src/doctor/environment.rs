//! Where are we running: WSL2? inside a container? a VM?

use super::{read_trimmed, Check, Status};
use std::path::Path;

pub fn check_environment() -> Check {
    let proc_version = read_trimmed("/proc/version").unwrap_or_default();
    if proc_version.to_lowercase().contains("microsoft")
        || std::env::var_os("WSL_DISTRO_NAME").is_some()
    {
        return Check::new("environment", Status::Warn, "WSL2 (Microsoft's Linux VM under Windows)")
            .detail("WSL2 runs a real Linux kernel: namespaces, cgroups and overlayfs work")
            .fix("if cgroup checks below fail, add `kernelCommandLine = cgroup_no_v1=all` under [wsl2] in %UserProfile%\\.wslconfig, then `wsl --shutdown`");
    }
    if let Some(engine) = container_engine() {
        return Check::new("environment", Status::Warn, format!("inside a container ({engine})"))
            .fix("nested containers need --privileged (and cgroupns=private); a VM or your laptop is simpler");
    }
    let product = read_trimmed("/sys/class/dmi/id/product_name").unwrap_or_default();
    let hypervisor = Path::new("/sys/hypervisor/type").exists()
        || read_trimmed("/proc/cpuinfo").is_some_and(|c| c.contains(" hypervisor"));
    let what = match (product.is_empty(), hypervisor) {
        (false, true) => format!("a virtual machine ({product})"),
        (true, true) => "a virtual machine".to_string(),
        (false, false) => format!("bare metal or an undetected VM ({product})"),
        (true, false) => "bare metal or an undetected VM".to_string(),
    };
    Check::new("environment", Status::Info, what)
}

/// The usual tell-tales that this process runs inside a container.
fn container_engine() -> Option<String> {
    if let Ok(value) = std::env::var("container") {
        return Some(value);
    }
    // The marker files alone are not proof: machine images are often built from
    // container images and keep /.dockerenv. A container's "/" is not a block device.
    let marker = [("/.dockerenv", "docker"), ("/run/.containerenv", "podman")]
        .into_iter()
        .find(|(path, _)| Path::new(path).exists());
    if let Some((_, engine)) = marker {
        if !root_is_a_block_device() {
            return Some(engine.into());
        }
    }
    // PID 1's environment is the container engine's choice; systemd-nspawn and LXC set container=.
    let init_env = std::fs::read("/proc/1/environ").unwrap_or_default();
    init_env
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"container="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// True when "/" is mounted from a block device (/dev/…), as on a VM or laptop.
fn root_is_a_block_device() -> bool {
    let mountinfo = read_trimmed("/proc/self/mountinfo").unwrap_or_default();
    super::mounts::root_mount_line(&mountinfo)
        .and_then(|l| l.split(" - ").nth(1))
        .and_then(|right| right.split_whitespace().nth(1))
        .is_some_and(|source| source.starts_with("/dev/"))
}
