//! The device controller: which device nodes a container may create, read
//! and write — whoever it runs as.
//!
//! A device node is only a (type, major, minor) triple in a directory entry.
//! Whoever may `mknod` (CAP_MKNOD) can make `b 254:0` — the host's disk —
//! anywhere it can write, and open it: file permissions say nothing about
//! *which device* a node points at. So the kernel asks the cgroup, on every
//! mknod and open of a device node, whether that device is allowed.
//!
//! The question is asked in two ways, one per cgroup version:
//! - **v1**: the `devices` controller keeps a list per cgroup, edited by
//!   writing lines such as `c 1:3 rwm` into `devices.allow` / `devices.deny`;
//! - **v2** has no such files: a cgroup gets an eBPF program of type
//!   `BPF_PROG_TYPE_CGROUP_DEVICE`, attached with `BPF_CGROUP_DEVICE`, that
//!   the kernel runs on each access and that answers 1 (allow) or 0 (deny).
//!   runc (`libcontainer/cgroups/devices/devicefilter.go`) and crun
//!   (`src/libcrun/ebpf.c`) generate that program from the same rules; so do we.

use crate::error::CgroupError;
use crate::layout::{CgroupLayout, LayoutKind};
use crate::placement::{Placement, DEFAULT_V1_PARENT, DEFAULT_V2_PARENT};
use ch01_chroot::Narrator;
use nix::errno::Errno;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which kind of device a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
    /// Both (`a` in v1's words).
    All,
}

/// What a rule allows or denies: any of read, write, mknod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

impl Access {
    pub const ALL: Access = Access {
        read: true,
        write: true,
        mknod: true,
    };
    pub const MKNOD: Access = Access {
        read: false,
        write: false,
        mknod: true,
    };

    /// `"rwm"`, `"m"`… as OCI's `linux.resources.devices[].access` and v1 write them.
    pub fn parse(text: &str) -> Option<Access> {
        let mut access = Access {
            read: false,
            write: false,
            mknod: false,
        };
        for c in text.chars() {
            match c {
                'r' => access.read = true,
                'w' => access.write = true,
                'm' => access.mknod = true,
                _ => return None,
            }
        }
        Some(access)
    }

    fn letters(self) -> String {
        [(self.read, 'r'), (self.write, 'w'), (self.mknod, 'm')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect()
    }

    /// The kernel's bits (BPF_DEVCG_ACC_MKNOD 1, _READ 2, _WRITE 4).
    fn bits(self) -> i32 {
        i32::from(self.mknod) | i32::from(self.read) << 1 | i32::from(self.write) << 2
    }
}

/// One rule, as OCI's `linux.resources.devices` holds them: later rules
/// override earlier ones; a device no rule matches is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    /// `None`: any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

impl DeviceRule {
    /// Allow `kind major:minor` with `access`.
    pub fn allow(kind: DeviceKind, major: Option<u32>, minor: Option<u32>, access: Access) -> Self {
        DeviceRule {
            allow: true,
            kind,
            major,
            minor,
            access,
        }
    }

    /// Deny every device: the first rule of any sane list.
    pub fn deny_all() -> Self {
        DeviceRule {
            allow: false,
            kind: DeviceKind::All,
            major: None,
            minor: None,
            access: Access::ALL,
        }
    }

    /// The line v1 expects: `c 1:3 rwm`, `b *:* m`, `a`.
    pub fn v1_line(&self) -> String {
        let star = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        match self.kind {
            DeviceKind::All if self.major.is_none() && self.minor.is_none() => "a".to_string(),
            kind => format!(
                "{} {}:{} {}",
                match kind {
                    DeviceKind::Char => 'c',
                    DeviceKind::Block => 'b',
                    DeviceKind::All => 'a',
                },
                star(self.major),
                star(self.minor),
                self.access.letters()
            ),
        }
    }
}

/// How the rules are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// cgroup v1: devices.allow / devices.deny in the `devices` hierarchy.
    V1Files,
    /// cgroup v2: an eBPF program attached to the container's cgroup2 directory.
    Ebpf,
}

impl Mechanism {
    /// v1 where a `devices` hierarchy is mounted (legacy and hybrid hosts),
    /// eBPF on cgroup2 otherwise.
    pub fn for_layout(layout: &CgroupLayout) -> Option<Mechanism> {
        if layout.v1_hierarchy("devices").is_some() {
            Some(Mechanism::V1Files)
        } else if layout.v2.is_some() {
            Some(Mechanism::Ebpf)
        } else {
            None
        }
    }
}

/// Why the device rules could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Cgroup(#[from] CgroupError),

    #[error("this host has neither a cgroup v1 `devices` hierarchy nor cgroup2: device rules cannot be enforced (see `minibox doctor`)")]
    NoMechanism,

    #[error("loading the device filter (bpf BPF_PROG_LOAD) failed: {errno} — {}{}", load_hint(*errno), verifier_log(log))]
    Load { errno: Errno, log: String },

    #[error("attaching the device filter to {path} (bpf BPF_PROG_ATTACH) failed: {errno} — this kernel needs CONFIG_CGROUP_BPF, and the directory must be on cgroup2")]
    Attach { path: PathBuf, errno: Errno },
}

fn load_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "loading eBPF programs needs root (CAP_BPF and CAP_SYS_ADMIN)",
        Errno::EINVAL => "the verifier refused the program, or this kernel lacks BPF_PROG_TYPE_CGROUP_DEVICE (CONFIG_CGROUP_BPF)",
        _ => "the verifier refused the program",
    }
}

fn verifier_log(log: &str) -> String {
    let log = log.trim_matches(char::from(0)).trim();
    if log.is_empty() {
        String::new()
    } else {
        format!("; verifier: {log}")
    }
}

/// The container's device cgroup. On v1 a directory of its own in the
/// `devices` hierarchy; on v2 the container's cgroup2 directory (made by
/// [`crate::Cgroup`] or here) with our program attached. Dropping it removes
/// what it made; an attached program goes with its directory.
#[derive(Debug)]
pub struct DeviceCgroup {
    mechanism: Mechanism,
    dir: PathBuf,
    /// Directories we made, outermost first.
    created: Vec<PathBuf>,
    narrator: Narrator,
    removed: bool,
}

impl DeviceCgroup {
    /// Creates the container's device cgroup with `rules`, the way this host needs.
    pub fn create(
        layout: &CgroupLayout,
        placement: &Placement,
        rules: &[DeviceRule],
        narrator: &Narrator,
    ) -> Result<DeviceCgroup, DeviceError> {
        let mechanism = Mechanism::for_layout(layout).ok_or(DeviceError::NoMechanism)?;
        Self::create_with(mechanism, layout, placement, rules, narrator)
    }

    /// Like [`DeviceCgroup::create`], with the mechanism chosen by the caller
    /// (a hybrid host can run the eBPF path on its cgroup2 mount too).
    pub fn create_with(
        mechanism: Mechanism,
        layout: &CgroupLayout,
        placement: &Placement,
        rules: &[DeviceRule],
        narrator: &Narrator,
    ) -> Result<DeviceCgroup, DeviceError> {
        let spot = match mechanism {
            Mechanism::V1Files => {
                let h = layout
                    .v1_hierarchy("devices")
                    .ok_or(DeviceError::NoMechanism)?;
                placement.spot(&h.mount_point, &h.own_dir, DEFAULT_V1_PARENT)
            }
            Mechanism::Ebpf => {
                let v2 = layout.v2.as_ref().ok_or(DeviceError::NoMechanism)?;
                placement.spot(&v2.mount_point, &v2.own_dir, DEFAULT_V2_PARENT)
            }
        };
        let mut cgroup = DeviceCgroup {
            mechanism,
            dir: spot.dir.clone(),
            created: Vec::new(),
            narrator: narrator.clone(),
            removed: false,
        };
        // From here on an error drops `cgroup`, which removes what was made.
        for parent in &spot.parents {
            cgroup.mkdir(parent, true)?;
        }
        // On v2 the container's cgroup may already exist: chapter 03's Cgroup
        // made it for the limits. Then the program goes onto that directory.
        let shared_v2_dir = mechanism == Mechanism::Ebpf && layout.kind == LayoutKind::Unified;
        cgroup.mkdir(&spot.dir, shared_v2_dir)?;
        match mechanism {
            Mechanism::V1Files => write_v1_rules(&spot.dir, rules, narrator)?,
            Mechanism::Ebpf => attach_device_program(&spot.dir, rules, narrator)?,
        }
        Ok(cgroup)
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The directory the rules live on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves `pid` in (chapter 02's `child_created`, like [`crate::Cgroup::join`]).
    pub fn join(&self, pid: Pid) -> Result<(), CgroupError> {
        crate::files::write(
            &self.dir,
            "cgroup.procs",
            &pid.to_string(),
            "join: every mknod and open of a device node is now checked against the rules",
            &self.narrator,
        )
    }

    fn mkdir(&mut self, dir: &Path, existing_is_fine: bool) -> Result<(), CgroupError> {
        match std::fs::create_dir(dir) {
            Ok(()) => {
                self.narrator.syscall(
                    &format!("mkdir {}", dir.display()),
                    "a cgroup for the device rules",
                );
                self.created.push(dir.to_path_buf());
                Ok(())
            }
            Err(e) if existing_is_fine && e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(CgroupError::Create {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }

    /// Removes the directories we made (kills what is left inside first).
    pub fn remove(mut self) -> Result<(), CgroupError> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<(), CgroupError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let mut first_error = None;
        for dir in self.created.iter().rev() {
            for pid in crate::files::read_procs(dir) {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
            }
            // The default parent may hold other containers: then it stays.
            let is_own = dir == &self.dir;
            match rmdir_when_empty(dir) {
                Ok(()) => self.narrator.syscall(
                    &format!("rmdir {}", dir.display()),
                    "the device cgroup is empty: remove it",
                ),
                Err(source) if is_own => {
                    first_error.get_or_insert(CgroupError::Remove {
                        path: dir.clone(),
                        hint: format!(
                            "look with `cat {}/cgroup.procs`, kill what is listed, then rmdir it",
                            dir.display()
                        ),
                        source,
                    });
                }
                Err(_) => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for DeviceCgroup {
    fn drop(&mut self) {
        if let Err(err) = self.remove_now() {
            self.narrator
                .warn(&format!("cleaning up the device cgroup: {err}"));
        }
    }
}

/// rmdir, retrying while the kernel still tears the last process down (EBUSY).
fn rmdir_when_empty(dir: &Path) -> Result<(), std::io::Error> {
    let start = Instant::now();
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && start.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

// ANCHOR: v1_rules
/// v1: a new cgroup inherits its parent's list, so first `a` into
/// devices.deny (deny everything, no exceptions left), then each rule in order.
pub fn write_v1_rules(
    dir: &Path,
    rules: &[DeviceRule],
    narrator: &Narrator,
) -> Result<(), CgroupError> {
    crate::files::write(
        dir,
        "devices.deny",
        "a",
        "start from nothing: every device denied",
        narrator,
    )?;
    // A leading "deny all" is what we just wrote.
    let skip = usize::from(rules.first() == Some(&DeviceRule::deny_all()));
    for rule in &rules[skip..] {
        let file = if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        crate::files::write(dir, file, &rule.v1_line(), "one device rule", narrator)?;
    }
    Ok(())
}
// ANCHOR_END: v1_rules

/// One eBPF instruction (`struct bpf_insn`): opcode, two 4-bit registers,
/// a jump offset and an immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

// The handful of opcodes the filter needs (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU64_AND_K: u8 = 0x57; // dst &= imm
const ALU64_RSH_K: u8 = 0x77; // dst >>= imm
const ALU64_MOV_K: u8 = 0xb7; // dst = imm
const ALU64_MOV_X: u8 = 0xbf; // dst = src
const JMP_JEQ_K: u8 = 0x15; // if dst == imm: pc += off
const JMP_JNE_K: u8 = 0x55; // if dst != imm: pc += off
const JMP_EXIT: u8 = 0x95; // return r0

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

// ANCHOR: device_program
// ANCHOR: device_program_ctx
/// The filter, as runc and crun write it. The kernel calls it with r1 =
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
/// where access_type = (access << 16) | type. Rules are tried from the last
/// to the first, so the last rule that matches decides; no match: deny.
fn device_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),        // r2 = access_type
        insn(ALU64_AND_K, 2, 0, 0, 0xffff), // r2 = type: 1 block, 2 char
        insn(LDX_MEM_W, 3, 1, 0, 0),        // r3 = access_type
        insn(ALU64_RSH_K, 3, 0, 0, 16),     // r3 = access: 1 mknod, 2 read, 4 write
        insn(LDX_MEM_W, 4, 1, 4, 0),        // r4 = major
        insn(LDX_MEM_W, 5, 1, 8, 0),        // r5 = minor
    ];
    // ANCHOR_END: device_program_ctx
    // ANCHOR: device_program_tests
    for rule in rules.iter().rev() {
        // Each test jumps to the end of this rule's block when it fails.
        let mut block: Vec<Insn> = Vec::new();
        match rule.kind {
            DeviceKind::Block => block.push(insn(JMP_JNE_K, 2, 0, 0, 1)),
            DeviceKind::Char => block.push(insn(JMP_JNE_K, 2, 0, 0, 2)),
            DeviceKind::All => {}
        }
        let bits = rule.access.bits();
        if bits != Access::ALL.bits() {
            block.push(insn(ALU64_MOV_X, 6, 3, 0, 0)); // r6 = requested access
            if rule.allow {
                // Allow only if *every* requested bit is allowed.
                block.push(insn(ALU64_AND_K, 6, 0, 0, !bits & 7));
                block.push(insn(JMP_JNE_K, 6, 0, 0, 0));
            } else {
                // Deny if *any* requested bit is denied.
                block.push(insn(ALU64_AND_K, 6, 0, 0, bits));
                block.push(insn(JMP_JEQ_K, 6, 0, 0, 0));
            }
        }
        if let Some(major) = rule.major {
            block.push(insn(JMP_JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JMP_JNE_K, 5, 0, 0, minor as i32));
        }
        // ANCHOR_END: device_program_tests
        // ANCHOR: device_program_verdict
        let unconditional = block.is_empty();
        block.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow))); // r0 = verdict
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JMP_JNE_K || ins.code == JMP_JEQ_K {
                ins.off = (len - i - 1) as i16; // to the first instruction after the block
            }
        }
        prog.extend(block);
        if unconditional {
            // Matches everything (`a`): rules before it can never decide, and
            // the verifier refuses code that cannot be reached.
            return prog;
        }
    }
    prog.push(insn(ALU64_MOV_K, 0, 0, 0, 0)); // nothing matched: deny
    prog.push(insn(JMP_EXIT, 0, 0, 0, 0));
    prog
}
// ANCHOR_END: device_program_verdict
// ANCHOR_END: device_program

// bpf(2) commands and types (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs may be attached above us (systemd puts its own on its
/// slices): all of them must say yes.
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// The start of `union bpf_attr` for BPF_PROG_LOAD; the kernel zero-fills the rest.
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

// ANCHOR: attach
// ANCHOR: attach_attr
/// v2: load the program (the verifier checks it) and attach it to `dir`.
/// The attachment holds the program: our fds may close, it lives as long as
/// the cgroup does.
pub fn attach_device_program(
    dir: &Path,
    rules: &[DeviceRule],
    narrator: &Narrator,
) -> Result<(), DeviceError> {
    let prog = device_program(rules);
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"minibox_dev");
    let load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
    };
    // ANCHOR_END: attach_attr
    // ANCHOR: attach_load
    // Safety: `load` points at live buffers for the duration of the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &load as *const ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    if fd < 0 {
        return Err(DeviceError::Load {
            errno: Errno::last(),
            log: String::from_utf8_lossy(&log).into_owned(),
        });
    }
    // Safety: the kernel just gave us this fd.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    narrator.syscall(
        &format!(
            "bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, {} instructions)",
            prog.len()
        ),
        "the verifier accepted our device filter",
    );
    let cgroup_dir = std::fs::File::open(dir).map_err(|e| {
        DeviceError::Cgroup(CgroupError::Read {
            path: dir.to_path_buf(),
            source: e,
        })
    })?;
    // ANCHOR_END: attach_load
    // ANCHOR: attach_attach
    let attach = ProgAttachAttr {
        target_fd: cgroup_dir.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    // Safety: `attach` is a plain struct that lives for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attach as *const ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>(),
        )
    };
    if rc < 0 {
        return Err(DeviceError::Attach {
            path: dir.to_path_buf(),
            errno: Errno::last(),
        });
    }
    narrator.syscall(
        &format!("bpf(BPF_PROG_ATTACH, {}, BPF_CGROUP_DEVICE)", dir.display()),
        "from now on the kernel runs our filter on every device mknod and open in this cgroup",
    );
    Ok(())
}
// ANCHOR_END: attach_attach
// ANCHOR_END: attach

/// A device cgroup that outlives its creator (an OCI runtime's `create`):
/// where it is, for a later process to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDeviceCgroup {
    pub mechanism: Mechanism,
    /// The directory the rules live on.
    pub dir: PathBuf,
    /// Directories it made, outermost first (the dir itself among them,
    /// unless it is the container's shared cgroup2 directory).
    pub created: Vec<PathBuf>,
}

impl DeviceCgroup {
    /// Gives up ownership: nothing is removed on drop; the caller records
    /// where it is (chapter 03's `CgroupHandle` takes it, see `handle.rs`).
    pub fn into_kept(mut self) -> KeptDeviceCgroup {
        let kept = self.kept();
        self.removed = true;
        kept
    }

    /// Where it is, to record before anything can go wrong (the guard still owns it).
    pub fn kept(&self) -> KeptDeviceCgroup {
        KeptDeviceCgroup {
            mechanism: self.mechanism,
            dir: self.dir.clone(),
            created: self.created.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_v1_lines() {
        assert_eq!(DeviceRule::deny_all().v1_line(), "a");
        let null = DeviceRule::allow(DeviceKind::Char, Some(1), Some(3), Access::ALL);
        assert_eq!(null.v1_line(), "c 1:3 rwm");
        let mknod_any = DeviceRule::allow(DeviceKind::Block, None, None, Access::MKNOD);
        assert_eq!(mknod_any.v1_line(), "b *:* m");
        assert_eq!(Access::parse("rw").map(|a| a.letters()), Some("rw".into()));
        assert_eq!(Access::parse("rx"), None);
    }

    #[test]
    fn each_rule_block_jumps_past_itself() {
        let rules = [DeviceRule::allow(
            DeviceKind::Char,
            Some(1),
            Some(3),
            Access::parse("rw").unwrap_or(Access::ALL),
        )];
        let prog = device_program(&rules);
        // 6 loads, the block (type, mov, and, jne, major, minor, mov, exit), deny + exit.
        assert_eq!(prog.len(), 6 + 8 + 2);
        let block = &prog[6..14];
        for (i, ins) in block.iter().enumerate() {
            if ins.code == JMP_JNE_K {
                assert_eq!(i as i16 + 1 + ins.off, 8, "jump {i} lands after the block");
            }
        }
    }
}
