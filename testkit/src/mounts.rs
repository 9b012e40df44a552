//! The mount table, read to check that a run left no mount behind.
//!
//! Other tests and other programs on the machine mount and unmount while a
//! test runs, so the whole table is no baseline: a test compares only the
//! mounts at or below the directories its run could mount on (its rootfs,
//! layers, state). A mount this run leaks there still shows up.

use std::path::Path;

/// The mount points at or below `path` in this process's mount namespace
/// (/proc/self/mountinfo), in table order, one per mount.
pub fn mounts_under(path: &Path) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_else(|e| panic!("reading /proc/self/mountinfo: {e}"));
    mounts_under_in(&table, path)
}

/// The same, in a mount table read elsewhere (/proc/PID/mountinfo).
pub fn mounts_under_in(mountinfo: &str, path: &Path) -> Vec<String> {
    // The table holds resolved paths: one given through a symlink matches nothing.
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mountinfo
        .lines()
        // Field 5 is the mount point (proc(5)).
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape)
        // By components: /tmp/a does not hold /tmp/ab.
        .filter(|point| Path::new(point).starts_with(&path))
        .collect()
}

/// mountinfo writes a space, tab, newline or backslash in a path as `\ooo`
/// (three octal digits); anything else after a backslash is kept as it is.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let byte = rest
            .get(at + 1..at + 4)
            .filter(|digits| digits.bytes().all(|d| matches!(d, b'0'..=b'7')))
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match byte {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:35 / /tmp/ab rw - tmpfs t rw
41 22 0:36 / /tmp/abc rw - tmpfs t rw
42 40 0:37 / /tmp/ab/x\\040y rw - tmpfs t rw
43 22 0:38 /tmp/ab /elsewhere rw - ext4 /dev/vda rw
";

    #[test]
    fn only_mount_points_at_or_below_the_path_count() {
        let found = mounts_under_in(TABLE, Path::new("/tmp/a"));
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(
            mounts_under_in(TABLE, Path::new("/tmp/ab")),
            ["/tmp/ab", "/tmp/ab/x y"]
        );
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape(r"/a\040b\011c\012d\134e"), "/a b\tc\nd\\e");
        assert_eq!(unescape(r"/a\x\04"), r"/a\x\04");
        assert_eq!(unescape(r"/a\777"), r"/a\777");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn a_real_mount_with_a_space_in_its_path_is_found() {
        if !crate::require_root("a_real_mount_with_a_space_in_its_path_is_found") {
            return;
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let dir_path = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        let target = dir_path.join("a b");
        std::fs::create_dir(&target).unwrap_or_else(|e| panic!("mkdir: {e}"));
        let no = None::<&str>;
        nix::mount::mount(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            no,
        )
        .unwrap_or_else(|e| panic!("mounting a tmpfs on {}: {e}", target.display()));
        let found = mounts_under(&dir_path);
        let unmounted = nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH);
        assert_eq!(found, [target.display().to_string()]);
        unmounted.unwrap_or_else(|e| panic!("unmounting {}: {e}", target.display()));
        assert!(mounts_under(&dir_path).is_empty());
    }
}
