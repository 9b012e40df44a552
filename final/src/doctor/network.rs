//! What killed runs left on the default bridge (chapter 09): leases whose
//! container is gone, with their published ports' rules — and the bridge
//! itself once no lease is left. `--clean` reclaims them.

use super::{Check, Status};
use ch09_network::NetworkConfig;

pub fn check_network_leftovers(clean: bool) -> Check {
    let Ok(config) = NetworkConfig::new(ch09_network::DEFAULT_BRIDGE, None) else {
        return Check::new("network", Status::Ok, "no network state to check");
    };
    if !config.state_dir.exists() {
        return Check::new("network", Status::Ok, "no container on the default bridge");
    }
    if clean {
        return match minibox::engine::network::reclaim_stale() {
            Ok(names) => Check::new(
                "network",
                Status::Ok,
                format!(
                    "reclaimed {} stale lease(s) on {}",
                    names.len(),
                    config.bridge
                ),
            ),
            Err(err) => Check::new("network", Status::Warn, format!("reclaiming leases: {err}")),
        };
    }
    let leases = ch09_network::leases(&config).unwrap_or_default();
    let stale: Vec<_> = leases.iter().filter(|l| l.is_stale()).collect();
    if stale.is_empty() {
        return Check::new(
            "network",
            Status::Ok,
            format!(
                "{} container(s) on {}, none stale",
                leases.len(),
                config.bridge
            ),
        );
    }
    let mut check = Check::new(
        "network",
        Status::Warn,
        format!(
            "{} lease(s) on {} belong to containers that are gone",
            stale.len(),
            config.bridge
        ),
    );
    for lease in stale {
        check = check.detail(format!("{} {} ({})", lease.ip, lease.name, lease.host_veth));
    }
    check.fix("`sudo minibox doctor --clean` reclaims them (addresses, veths, port rules)")
}
