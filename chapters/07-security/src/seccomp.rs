//! seccomp: a filter the kernel runs on every system call.
//!
//! A capability says what root may do *inside* a system call; seccomp
//! decides which system calls may be made at all. The filter is a classic
//! BPF program: it reads the syscall number and arguments and returns an
//! action — allow, fail with an errno, kill, trap, log. Once loaded it can
//! never be removed, it is inherited by every child, and it survives execve.
//!
//! The profile format is the OCI runtime spec's `linux.seccomp` (what docker
//! hands to runc): a default action, and rules of names + action + argument
//! conditions. We compile it with `seccompiler` (Firecracker's compiler,
//! pure Rust: no C library to install) and load it with seccomp(2) ourselves.

use crate::error::SecurityError;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// EPERM: what docker's profile answers for a syscall it does not allow.
const EPERM: u32 = 1;

/// One argument test of a rule: `args[index] OP value` (masked: `& mask == value`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    index: u8,
    op: SeccompCmpOp,
    value: u64,
}

impl Condition {
    fn holds(&self, args: &[u64; 6]) -> bool {
        let arg = args[usize::from(self.index)];
        match self.op {
            SeccompCmpOp::Eq => arg == self.value,
            SeccompCmpOp::Ne => arg != self.value,
            SeccompCmpOp::Lt => arg < self.value,
            SeccompCmpOp::Le => arg <= self.value,
            SeccompCmpOp::Gt => arg > self.value,
            SeccompCmpOp::Ge => arg >= self.value,
            SeccompCmpOp::MaskedEq(mask) => arg & mask == self.value,
        }
    }
}

/// One resolved rule: a syscall of this architecture, an action, and the
/// conditions that must all hold (none: always).
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    number: i64,
    action: SeccompAction,
    conditions: Vec<Condition>,
}

/// A profile, checked and compiled for this machine, ready to load.
#[derive(Debug, Clone)]
pub struct Seccomp {
    profile: LinuxSeccomp,
    default_action: SeccompAction,
    rules: Vec<Rule>,
    /// In the order they are loaded (see [`Seccomp::compile`]).
    programs: Vec<BpfProgram>,
    flags: libc::c_ulong,
    /// Names the profile lists that this architecture does not have (32-bit
    /// calls in a profile written for several architectures): skipped.
    skipped: Vec<String>,
}

impl Seccomp {
    /// Reads an OCI `linux.seccomp` JSON file (docker's `--security-opt seccomp=FILE`).
    pub fn from_file(path: &Path) -> Result<Seccomp, SecurityError> {
        let text = std::fs::read_to_string(path).map_err(|error| SecurityError::SeccompRead {
            path: path.to_path_buf(),
            error,
        })?;
        let profile: LinuxSeccomp =
            serde_json::from_str(&text).map_err(|error| SecurityError::SeccompJson {
                path: path.to_path_buf(),
                error,
            })?;
        Seccomp::compile(profile)
    }

    /// The OCI profile this was compiled from (what chapter 08 writes into config.json).
    pub fn profile(&self) -> &LinuxSeccomp {
        &self.profile
    }

    /// Names skipped because this architecture lacks them.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// How many BPF programs [`Seccomp::load`] installs.
    pub fn program_count(&self) -> usize {
        self.programs.len()
    }

    // ANCHOR: compile
    // ANCHOR: compile_actions
    /// Checks the profile and compiles it. seccompiler builds filters with
    /// *one* action on a match and one otherwise, while an OCI profile mixes
    /// actions; so we build one filter per action and let the kernel combine
    /// them — it runs every filter and keeps the strictest answer
    /// (kill > trap > errno > trace > log > allow):
    /// - the **default filter**: a syscall some rule matches → allow, any
    ///   other → `defaultAction`;
    /// - one filter per other action X: the rules with action X → X, any
    ///   other → allow.
    ///
    /// A call that matches a rule gets "allow" from the first and X from its
    /// own: X wins. A call no rule matches gets the default from the first and
    /// "allow" from the rest: the default wins. That is the profile's meaning.
    pub fn compile(profile: LinuxSeccomp) -> Result<Seccomp, SecurityError> {
        let arch = host_arch()?;
        check_supported(&profile, arch)?;
        let default_action = action(profile.default_action(), profile.default_errno_ret())?;
        let (rules, skipped) = resolve_rules(&profile)?;

        let mut actions: Vec<SeccompAction> = Vec::new();
        for rule in &rules {
            if rule.action != SeccompAction::Allow && !actions.contains(&rule.action) {
                actions.push(rule.action.clone());
            }
        }
        // ANCHOR_END: compile_actions
        // ANCHOR: compile_programs
        let mut programs = Vec::new();
        for wanted in &actions {
            let chosen = rules.iter().filter(|r| &r.action == wanted);
            programs.push(build(chosen, SeccompAction::Allow, wanted.clone(), arch)?);
        }
        if default_action != SeccompAction::Allow {
            // Loaded last: until then, our own seccomp(2) calls must pass.
            programs.push(build(
                rules.iter(),
                default_action.clone(),
                SeccompAction::Allow,
                arch,
            )?);
        }
        Ok(Seccomp {
            flags: filter_flags(&profile)?,
            profile,
            default_action,
            rules,
            programs,
            skipped,
        })
    }
    // ANCHOR_END: compile_programs
    // ANCHOR_END: compile

    // ANCHOR: load
    /// Installs the filters on the calling thread: seccomp(2) once per program.
    /// Needs no_new_privs, or CAP_SYS_ADMIN (a filter could otherwise fool a
    /// setuid program into misbehaving with errors it never expected).
    pub fn load(&self) -> Result<(), SecurityError> {
        for program in &self.programs {
            let fprog = SockFprog {
                len: program.len() as u16,
                filter: program.as_ptr(),
            };
            // Safety: `fprog` points at a live program for the duration of the call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    self.flags,
                    &fprog as *const SockFprog,
                )
            };
            if rc != 0 {
                return Err(SecurityError::SeccompLoad {
                    errno: nix::errno::Errno::last(),
                });
            }
        }
        Ok(())
    }
    // ANCHOR_END: load

    /// What the loaded filters answer for `name(args…)`: the same combination
    /// the kernel makes, computed here so the probe can say what stopped a call.
    pub fn verdict(&self, name: &str, args: &[u64; 6]) -> SeccompAction {
        let matching: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.name == name && r.conditions.iter().all(|c| c.holds(args)))
            .collect();
        let first = if matching.is_empty() {
            self.default_action.clone()
        } else {
            SeccompAction::Allow
        };
        matching
            .iter()
            .map(|r| r.action.clone())
            .fold(first, |a, b| {
                if precedence(&b) < precedence(&a) {
                    b
                } else {
                    a
                }
            })
    }
}

/// `struct sock_fprog` (linux/filter.h): what seccomp(2) takes.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const seccompiler::sock_filter,
}

/// Lower is stricter, as the kernel ranks actions.
fn precedence(action: &SeccompAction) -> u8 {
    match action {
        SeccompAction::KillProcess => 0,
        SeccompAction::KillThread => 1,
        SeccompAction::Trap => 2,
        SeccompAction::Errno(_) => 3,
        SeccompAction::Trace(_) => 4,
        SeccompAction::Log => 5,
        SeccompAction::Allow => 6,
    }
}

/// This machine's architecture, as seccompiler and OCI name it.
fn host_arch() -> Result<TargetArch, SecurityError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| SecurityError::SeccompUnsupported {
        what: format!("the {} architecture", std::env::consts::ARCH),
        hint: "seccompiler supports x86_64, aarch64 and riscv64",
    })
}

fn oci_arch(arch: TargetArch) -> Arch {
    match arch {
        TargetArch::x86_64 => Arch::ScmpArchX86_64,
        TargetArch::aarch64 => Arch::ScmpArchAarch64,
        TargetArch::riscv64 => Arch::ScmpArchRiscv64,
    }
}

/// Refuses what we cannot honour, rather than load a weaker filter.
fn check_supported(profile: &LinuxSeccomp, arch: TargetArch) -> Result<(), SecurityError> {
    if let Some(arches) = profile.architectures() {
        let native = [Arch::ScmpArchNative, oci_arch(arch)];
        if !arches.is_empty() && !arches.iter().any(|a| native.contains(a)) {
            return Err(SecurityError::SeccompUnsupported {
                what: format!("a profile for {arches:?} only"),
                hint: "add this machine's architecture (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64…) to \"architectures\"",
            });
        }
    }
    if profile.listener_path().is_some() {
        return Err(SecurityError::SeccompUnsupported {
            what: "listenerPath (seccomp user notification)".into(),
            hint: "remove listenerPath and SCMP_ACT_NOTIFY rules",
        });
    }
    Ok(())
}

fn filter_flags(profile: &LinuxSeccomp) -> Result<libc::c_ulong, SecurityError> {
    let mut flags = 0;
    for flag in profile.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // One thread: synchronising threads changes nothing.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 0,
            other => return Err(SecurityError::SeccompUnsupported {
                what: format!("the flag {other}"),
                hint:
                    "it belongs to seccomp user notification, which this chapter does not implement",
            }),
        };
    }
    Ok(flags)
}

/// An OCI action as seccompiler's. ERRNO without errnoRet means EPERM.
fn action(oci: LinuxSeccompAction, errno: Option<u32>) -> Result<SeccompAction, SecurityError> {
    Ok(match oci {
        LinuxSeccompAction::ScmpActAllow => SeccompAction::Allow,
        LinuxSeccompAction::ScmpActErrno => SeccompAction::Errno(errno.unwrap_or(EPERM)),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            SeccompAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => SeccompAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => SeccompAction::Trap,
        LinuxSeccompAction::ScmpActTrace => SeccompAction::Trace(errno.unwrap_or(0)),
        LinuxSeccompAction::ScmpActLog => SeccompAction::Log,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SecurityError::SeccompUnsupported {
                what: "SCMP_ACT_NOTIFY".into(),
                hint:
                    "seccomp user notification needs an agent process; use SCMP_ACT_ERRNO instead",
            })
        }
    })
}

/// Names → this architecture's numbers; argument tests → conditions.
fn resolve_rules(profile: &LinuxSeccomp) -> Result<(Vec<Rule>, Vec<String>), SecurityError> {
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for syscall in profile.syscalls().iter().flatten() {
        let errno = syscall.errno_ret().or(Some(EPERM));
        let rule_action = action(syscall.action(), errno)?;
        let mut conditions = Vec::new();
        for arg in syscall.args().iter().flatten() {
            let index = u8::try_from(arg.index())
                .ok()
                .filter(|i| *i < 6)
                .ok_or_else(|| SecurityError::SeccompUnsupported {
                    what: format!("argument index {}", arg.index()),
                    hint: "a system call has six arguments: index 0 to 5",
                })?;
            let (op, value) = match arg.op() {
                LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
                LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
                LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
                LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
                LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
                LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
                // OCI (like libseccomp): value is the mask, valueTwo what the masked bits must equal.
                LinuxSeccompOperator::ScmpCmpMaskedEq => (
                    SeccompCmpOp::MaskedEq(arg.value()),
                    arg.value_two().unwrap_or(0),
                ),
            };
            conditions.push(Condition { index, op, value });
        }
        for name in syscall.names() {
            match syscalls::Sysno::from_str(name) {
                Ok(sysno) => rules.push(Rule {
                    name: name.clone(),
                    number: i64::from(sysno.id()),
                    action: rule_action.clone(),
                    conditions: conditions.clone(),
                }),
                Err(()) if known_elsewhere(name) => skipped.push(name.clone()),
                Err(()) => return Err(SecurityError::UnknownSyscall { name: name.clone() }),
            }
        }
    }
    Ok((rules, skipped))
}

/// A name of another architecture (`chown32`, `_llseek`, `arm_fadvise64_64`,
/// powerpc's `swapcontext`, s390's `s390_pci_mmio_read`): profiles such as
/// docker's and podman's list every architecture's calls in one file, and
/// runc skips the ones this machine does not have. A name no architecture has
/// is a typo, and an error.
fn known_elsewhere(name: &str) -> bool {
    use syscalls::*;
    x86_64::Sysno::from_str(name).is_ok()
        || x86::Sysno::from_str(name).is_ok()
        || aarch64::Sysno::from_str(name).is_ok()
        || arm::Sysno::from_str(name).is_ok()
        || riscv64::Sysno::from_str(name).is_ok()
        || riscv32::Sysno::from_str(name).is_ok()
        || powerpc::Sysno::from_str(name).is_ok()
        || powerpc64::Sysno::from_str(name).is_ok()
        || s390x::Sysno::from_str(name).is_ok()
        || mips::Sysno::from_str(name).is_ok()
        || mips64::Sysno::from_str(name).is_ok()
        || sparc::Sysno::from_str(name).is_ok()
        || sparc64::Sysno::from_str(name).is_ok()
        || loongarch64::Sysno::from_str(name).is_ok()
}

/// One seccompiler filter from rules with the same action.
fn build<'a>(
    rules: impl Iterator<Item = &'a Rule>,
    mismatch: SeccompAction,
    on_match: SeccompAction,
    arch: TargetArch,
) -> Result<BpfProgram, SecurityError> {
    // Per syscall: None = matches always; Some(rules) = any of these rules.
    let mut by_number: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for rule in rules {
        let entry = by_number
            .entry(rule.number)
            .or_insert_with(|| Some(Vec::new()));
        if rule.conditions.is_empty() {
            *entry = None;
            continue;
        }
        if let Some(list) = entry {
            let conditions = rule
                .conditions
                .iter()
                .map(|c| {
                    SeccompCondition::new(c.index, SeccompCmpArgLen::Qword, c.op.clone(), c.value)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SecurityError::SeccompCompile(e.to_string()))?;
            list.push(
                SeccompRule::new(conditions)
                    .map_err(|e| SecurityError::SeccompCompile(e.to_string()))?,
            );
        }
    }
    let rules = by_number
        .into_iter()
        .map(|(nr, rules)| (nr, rules.unwrap_or_default()))
        .collect();
    let filter = SeccompFilter::new(rules, mismatch, on_match, arch)
        .map_err(|e| SecurityError::SeccompCompile(e.to_string()))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| SecurityError::SeccompCompile(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> Result<Seccomp, SecurityError> {
        let profile: LinuxSeccomp =
            serde_json::from_str(json).map_err(|error| SecurityError::SeccompJson {
                path: "test.json".into(),
                error,
            })?;
        Seccomp::compile(profile)
    }

    #[test]
    fn mixed_actions_combine_as_the_kernel_does() {
        let s = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
                {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.program_count(), 2);
        assert_eq!(s.verdict("read", &[0; 6]), SeccompAction::Allow);
        assert_eq!(s.verdict("mount", &[0; 6]), SeccompAction::Errno(1));
        assert_eq!(s.verdict("clone3", &[0; 6]), SeccompAction::Errno(38));
        assert_eq!(
            s.verdict("socket", &[2, 0, 0, 0, 0, 0]),
            SeccompAction::Allow
        );
        assert_eq!(
            s.verdict("socket", &[40, 0, 0, 0, 0, 0]),
            SeccompAction::Errno(1)
        );
    }

    #[test]
    fn unknown_names_and_bad_json_are_refused_clearly() {
        let err = profile(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mountt"],"action":"SCMP_ACT_ERRNO"}]}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown system call \"mountt\""), "{err}");
        let err = profile(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not valid OCI linux.seccomp JSON"), "{err}");
        // A 32-bit name in a multi-architecture profile is skipped, not an error.
        let s = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","chown32","swapcontext","s390_pci_mmio_read"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        if std::env::consts::ARCH == "x86_64" {
            // podman's default profile lists powerpc's and s390's calls too.
            assert_eq!(
                s.map(|s| s.skipped().to_vec()).ok(),
                Some(vec![
                    "chown32".to_string(),
                    "swapcontext".to_string(),
                    "s390_pci_mmio_read".to_string()
                ])
            );
        }
    }
}
