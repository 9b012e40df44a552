//! Firewall rules through `iptables`, the program docker runs too.
//!
//! Each rule is kept as data — table, chain, arguments — so the exact rule
//! that was added is the exact rule removed later (`iptables -D` with the
//! same arguments), by this process or by a later one reading it from JSON.
//! We add rules only to chains of our own, and put one jump to each into a
//! built-in chain; we never flush a chain we did not create.

use crate::error::NetworkError;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    /// Address translation: DNAT, MASQUERADE.
    Nat,
    /// Accept or drop: FORWARD, INPUT.
    Filter,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }
}

/// One rule: `iptables -t TABLE -A CHAIN SPEC…`. In JSON the spec is one
/// line, as a learner would type it (no argument of ours holds a space).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub table: Table,
    pub chain: String,
    #[serde(serialize_with = "spec_as_line", deserialize_with = "spec_from_line")]
    pub spec: Vec<String>,
}

fn spec_as_line<S: serde::Serializer>(spec: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&spec.join(" "))
}

fn spec_from_line<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let line = <String as serde::Deserialize>::deserialize(d)?;
    Ok(line.split_whitespace().map(String::from).collect())
}

impl Rule {
    /// A rule written as iptables takes it, split on spaces
    /// (`"-s 172.17.0.0/16 ! -o minibox0 -j MASQUERADE"`). No argument of
    /// ours contains a space.
    pub fn line(table: Table, chain: &str, spec: &str) -> Rule {
        Rule {
            table,
            chain: chain.to_string(),
            spec: spec.split_whitespace().map(String::from).collect(),
        }
    }

    /// The command line, as a learner would type it: `iptables -t nat -A …`.
    pub fn shown(&self, op: &str) -> String {
        let spec: Vec<String> = self
            .spec
            .iter()
            .map(|s| {
                if s.contains(' ') {
                    format!("\"{s}\"")
                } else {
                    s.clone()
                }
            })
            .collect();
        let table = match self.table {
            Table::Nat => "-t nat ",
            Table::Filter => "",
        };
        format!("iptables {table}{op} {} {}", self.chain, spec.join(" "))
    }

    fn args(&self, op: &str) -> Vec<String> {
        let mut args = vec![
            "-w".to_string(),
            "-t".into(),
            self.table.name().into(),
            op.into(),
            self.chain.clone(),
        ];
        args.extend(self.spec.iter().cloned());
        args
    }
}

/// The `iptables` program (Debian's: the nft backend, `iptables-nft`).
#[derive(Debug, Clone)]
pub struct Iptables {
    program: PathBuf,
}

/// What to do when iptables cannot add anything at all.
const KERNEL_HINT: &str = "the kernel needs nf_tables and its nat support (`modprobe nf_tables nft_chain_nat nft_compat`), and we need CAP_NET_ADMIN";

/// What iptables says when the thing to delete, or to check, is not there.
const ABSENT: [&str; 2] = [
    "does a matching rule exist",
    "No chain/target/match by that name",
];

impl Iptables {
    /// Finds `iptables` on PATH, or in /usr/sbin and /sbin (sudo's PATH may lack them).
    pub fn find() -> Result<Iptables, NetworkError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join("iptables"))
            .find(|p| p.is_file())
            .map(|program| Iptables { program })
            .ok_or(NetworkError::NoIptables)
    }

    /// Runs iptables; `Err(output)` with what it printed if it failed.
    // ANCHOR: run
    fn run(&self, args: &[String]) -> Result<(), String> {
        // `-w`: wait for the xtables lock instead of failing when another
        // program (docker, firewalld, a parallel container) changes rules.
        let output = Command::new(&self.program)
            .args(args)
            .output()
            .map_err(|e| format!("{e} "))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        Err(text.trim().to_string() + " ")
    }
    // ANCHOR_END: run

    fn failed(&self, args: &[String], output: String, hint: &'static str) -> NetworkError {
        NetworkError::Firewall {
            command: format!("iptables {}", args.join(" ")),
            output,
            hint,
        }
    }

    /// `iptables -C`: is this very rule there?
    pub fn exists(&self, rule: &Rule) -> bool {
        self.run(&rule.args("-C")).is_ok()
    }

    /// `iptables -A` unless the rule is there already (a run that was
    /// killed may have added it). `Ok(false)`: it was there.
    pub fn append(&self, rule: &Rule) -> Result<bool, NetworkError> {
        self.add(rule, "-A")
    }

    /// `iptables -I CHAIN` (first place): for the jumps into built-in chains,
    /// so ours come before rules that would drop the traffic.
    pub fn insert(&self, rule: &Rule) -> Result<bool, NetworkError> {
        self.add(rule, "-I")
    }

    fn add(&self, rule: &Rule, op: &str) -> Result<bool, NetworkError> {
        if self.exists(rule) {
            return Ok(false);
        }
        let args = rule.args(op);
        self.run(&args)
            .map_err(|out| self.failed(&args, out, KERNEL_HINT))?;
        Ok(true)
    }

    /// `iptables -D` with the same arguments: removes exactly that rule.
    /// `Ok(false)`: it was not there (removed already, or its chain is gone).
    pub fn delete(&self, rule: &Rule) -> Result<bool, NetworkError> {
        let args = rule.args("-D");
        match self.run(&args) {
            Ok(()) => Ok(true),
            Err(out) if ABSENT.iter().any(|a| out.contains(a)) => Ok(false),
            Err(out) => Err(self.failed(&args, out, "see `iptables -S` for what is there")),
        }
    }

    /// `iptables -N CHAIN`; `Ok(false)` if it exists already.
    pub fn new_chain(&self, table: Table, chain: &str) -> Result<bool, NetworkError> {
        let args: Vec<String> = ["-w", "-t", table.name(), "-N", chain]
            .map(String::from)
            .to_vec();
        match self.run(&args) {
            Ok(()) => Ok(true),
            Err(out) if out.contains("already exists") => Ok(false),
            Err(out) => Err(self.failed(&args, out, KERNEL_HINT)),
        }
    }

    /// `iptables -F CHAIN` then `-X CHAIN` — for chains we created, and only
    /// once nothing jumps to them any more. `Ok(false)` if there was none.
    pub fn remove_chain(&self, table: Table, chain: &str) -> Result<bool, NetworkError> {
        for op in ["-F", "-X"] {
            let args: Vec<String> = ["-w", "-t", table.name(), op, chain]
                .map(String::from)
                .to_vec();
            match self.run(&args) {
                Ok(()) => {}
                Err(out) if ABSENT.iter().any(|a| out.contains(a)) => return Ok(false),
                Err(out) => {
                    return Err(self.failed(
                        &args,
                        out,
                        "something still jumps to it: see `iptables -S`",
                    ))
                }
            }
        }
        Ok(true)
    }
}
