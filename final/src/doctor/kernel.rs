//! Kernel version and CPU architecture.

use super::{Check, Status};

/// The oldest kernel with everything the chapters use: cgroup v2 with
/// cgroup.kill (5.14), time namespaces (5.6), clone3 (5.3).
const MINIMUM: (u32, u32) = (5, 14);

pub fn check_kernel() -> Check {
    let uname = match nix::sys::utsname::uname() {
        Ok(u) => u,
        Err(e) => return Check::new("kernel", Status::Warn, format!("uname(2) failed: {e}")),
    };
    let release = uname.release().to_string_lossy().into_owned();
    let version = parse_version(&release);
    match version {
        Some(v) if v >= MINIMUM => Check::new("kernel", Status::Ok, format!("Linux {release}")),
        Some(_) => Check::new("kernel", Status::Warn, format!("Linux {release} is older than {}.{}", MINIMUM.0, MINIMUM.1))
            .fix("time namespaces and cgroup.kill may be missing; Ubuntu 22.04+, Debian 12+ or Fedora 36+ have a new enough kernel"),
        None => Check::new("kernel", Status::Info, format!("Linux {release} (version not understood)")),
    }
}

pub fn check_architecture() -> Check {
    let arch = std::env::consts::ARCH;
    match arch {
        "x86_64" | "aarch64" => Check::new("architecture", Status::Ok, arch),
        other => Check::new("architecture", Status::Warn, format!("{other}: untested"))
            .fix("the chapters are tested on x86_64 (aarch64 is expected to work); images you pull must match this architecture"),
    }
}

fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_parse() {
        assert_eq!(super::parse_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(super::parse_version("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(super::parse_version("weird"), None);
    }
}
