//! The default seccomp profile: an allowlist equivalent in effect to docker's.
//!
//! Of the ~450 system calls Linux has, a container gets about 350: files,
//! memory, processes, signals, sockets, time *reading*. Blocked by default
//! (answer EPERM) are the calls that reach state the kernel does not
//! namespace, or that were a way out before: keyctl/add_key/request_key (the
//! keyring is global), kexec_load, init_module, swapon, reboot, settimeofday,
//! mount, unshare and setns, bpf, perf_event_open, open_by_handle_at (the
//! 2014 "shocker" escape), userfaultfd, ptrace on old kernels… Like docker, a
//! capability granted with `--cap-add` brings back the calls it is for.

use caps::{Capability, CapsHashSet};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

// ANCHOR: allowed
/// Allowed for everyone. (Names of other architectures — `chown32`,
/// `_llseek`… — are in docker's list too; here the compiler skips them.)
const ALLOWED: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    // Since Linux 4.8 ptrace can no longer be used to bypass seccomp: allowed.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    // Architecture-specific helpers (each compiles only where it exists).
    "arch_prctl",
    "modify_ldt",
    "arm_fadvise64_64",
    "arm_sync_file_range",
    "riscv_flush_icache",
];
// ANCHOR_END: allowed

// ANCHOR: by_capability
// ANCHOR: by_capability_admin
/// Calls that come back with a capability (docker's `includes.caps`).
const BY_CAPABILITY: &[(Capability, &[&str])] = &[
    (Capability::CAP_DAC_READ_SEARCH, &["open_by_handle_at"]),
    (
        Capability::CAP_SYS_ADMIN,
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    // ANCHOR_END: by_capability_admin
    // ANCHOR: by_capability_rest
    (Capability::CAP_SYS_BOOT, &["reboot"]),
    (Capability::CAP_SYS_CHROOT, &["chroot"]),
    (
        Capability::CAP_SYS_MODULE,
        &["delete_module", "init_module", "finit_module"],
    ),
    (Capability::CAP_SYS_PACCT, &["acct"]),
    (
        Capability::CAP_SYS_PTRACE,
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    (Capability::CAP_SYS_RAWIO, &["iopl", "ioperm"]),
    (
        Capability::CAP_SYS_TIME,
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    (Capability::CAP_SYS_TTY_CONFIG, &["vhangup"]),
    (
        Capability::CAP_SYS_NICE,
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    (Capability::CAP_SYSLOG, &["syslog"]),
    (Capability::CAP_BPF, &["bpf"]),
    (Capability::CAP_PERFMON, &["perf_event_open"]),
];
// ANCHOR_END: by_capability_rest
// ANCHOR_END: by_capability

/// The CLONE_NEW* flags (0x7E020000): without CAP_SYS_ADMIN, clone(2) may
/// not create namespaces.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
/// AF_VSOCK: talks to the hypervisor, which is not namespaced.
const AF_VSOCK: u64 = 40;
/// personality(2) values programs use: PER_LINUX, UNAME26, PER_LINUX32,
/// UNAME26|PER_LINUX32, and 0xffffffff (query).
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

fn rule(names: &[&str], args: Vec<Option<LinuxSeccompArg>>) -> LinuxSyscall {
    let mut s = LinuxSyscall::default();
    s.set_names(names.iter().map(|n| n.to_string()).collect());
    s.set_action(LinuxSeccompAction::ScmpActAllow);
    if !args.is_empty() {
        match args.into_iter().collect::<Option<Vec<_>>>() {
            Some(args) => s.set_args(Some(args)),
            None => s.set_names(Vec::new()),
        };
    }
    s
}

/// One argument test. (The builder cannot fail with every field set; if it
/// ever did, the rule is left out — narrower, never wider.)
fn arg(index: usize, op: LinuxSeccompOperator, value: u64) -> Option<LinuxSeccompArg> {
    LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value)
        .build()
        .ok()
}

// ANCHOR: docker_default
// ANCHOR: docker_default_allow
/// The profile for a container with capability bounding set `caps`.
pub fn docker_default(caps: &CapsHashSet) -> LinuxSeccomp {
    let mut syscalls = vec![rule(ALLOWED, vec![])];
    for (cap, names) in BY_CAPABILITY {
        if caps.contains(cap) {
            syscalls.push(rule(names, vec![]));
        }
    }
    // socket(2) for every family but AF_VSOCK.
    syscalls.push(rule(
        &["socket"],
        vec![arg(0, LinuxSeccompOperator::ScmpCmpNe, AF_VSOCK)],
    ));
    for value in PERSONALITIES {
        syscalls.push(rule(
            &["personality"],
            vec![arg(0, LinuxSeccompOperator::ScmpCmpEq, value)],
        ));
    }
    // ANCHOR_END: docker_default_allow
    // ANCHOR: docker_default_clone
    if !caps.contains(&Capability::CAP_SYS_ADMIN) {
        // clone(2) only without CLONE_NEW* flags ((flags & mask) == 0) …
        syscalls.push(rule(
            &["clone"],
            vec![arg(
                0,
                LinuxSeccompOperator::ScmpCmpMaskedEq,
                CLONE_NAMESPACE_FLAGS,
            )],
        ));
        // … and clone3(2), whose flags sit in memory seccomp cannot read,
        // answers ENOSYS: glibc then falls back to clone(2), which we can check.
        let mut clone3 = rule(&["clone3"], vec![]);
        clone3.set_action(LinuxSeccompAction::ScmpActErrno);
        clone3.set_errno_ret(Some(libc::ENOSYS as u32));
        syscalls.push(clone3);
    }
    let mut profile = LinuxSeccomp::default();
    profile.set_default_action(LinuxSeccompAction::ScmpActErrno);
    profile.set_default_errno_ret(Some(libc::EPERM as u32));
    profile.set_architectures(Some(native_architectures()));
    profile.set_syscalls(Some(syscalls));
    profile
}
// ANCHOR_END: docker_default_clone
// ANCHOR_END: docker_default

/// The architectures docker lists for this machine (its archMap).
fn native_architectures() -> Vec<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "aarch64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        "riscv64" => vec![Arch::ScmpArchRiscv64],
        _ => vec![Arch::ScmpArchNative],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::CapabilitySets;
    use crate::seccomp::Seccomp;
    use seccompiler::SeccompAction;

    #[test]
    fn default_profile_compiles_and_blocks_what_docker_blocks() {
        let caps = CapabilitySets::docker_default().bounding;
        let s = Seccomp::compile(docker_default(&caps)).unwrap_or_else(|e| panic!("{e}"));
        for allowed in ["read", "execve", "mknod", "ptrace"] {
            assert_eq!(
                s.verdict(allowed, &[0; 6]),
                SeccompAction::Allow,
                "{allowed}"
            );
        }
        for blocked in [
            "mount",
            "unshare",
            "keyctl",
            "reboot",
            "finit_module",
            "settimeofday",
            "bpf",
        ] {
            assert_eq!(
                s.verdict(blocked, &[0; 6]),
                SeccompAction::Errno(1),
                "{blocked}"
            );
        }
        assert_eq!(s.verdict("clone3", &[0; 6]), SeccompAction::Errno(38));
        let newuser = libc::CLONE_NEWUSER as u64;
        assert_eq!(
            s.verdict("clone", &[newuser, 0, 0, 0, 0, 0]),
            SeccompAction::Errno(1)
        );
        assert_eq!(
            s.verdict("clone", &[libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            SeccompAction::Allow
        );
        // With CAP_SYS_ADMIN, mount comes back.
        let mut admin = caps.clone();
        admin.insert(Capability::CAP_SYS_ADMIN);
        let s = Seccomp::compile(docker_default(&admin)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.verdict("mount", &[0; 6]), SeccompAction::Allow);
    }
}
