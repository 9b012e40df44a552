//! The one tool the chapters need from the host: a static busybox.

use super::{Check, Status};

pub fn check_busybox() -> Check {
    let install = "install it: Debian/Ubuntu `sudo apt install busybox-static`, Fedora `sudo dnf install busybox`";
    let path = match ch01_chroot::rootfs::find_busybox() {
        Ok(path) => path,
        Err(_) => {
            return Check::new(
                "busybox",
                Status::Fail,
                "no busybox found (needed for the root filesystem)",
            )
            .fix(install)
        }
    };
    match ch01_chroot::rootfs::is_statically_linked(&path) {
        Ok(true) => Check::new(
            "busybox",
            Status::Ok,
            format!(
                "{} (static): `minibox rootfs DIR` works offline",
                path.display()
            ),
        ),
        Ok(false) => Check::new(
            "busybox",
            Status::Fail,
            format!("{} is dynamically linked", path.display()),
        )
        .fix(install),
        Err(e) => Check::new("busybox", Status::Fail, e.to_string()).fix(install),
    }
}
