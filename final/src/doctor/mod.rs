//! `minibox doctor`: the preflight a learner runs first.
//!
//! Each check looks at the real machine (files under /proc and /sys, a
//! syscall or two) and says what it found, and — when something is missing —
//! exactly how to fix it. Nothing here changes the machine.

mod cgroups;
mod environment;
mod kernel;
mod leftovers;
mod mounts;
mod network;
mod privileges;
mod tools;
mod userns;

use colored::Colorize;
use serde::Serialize;
use std::io::Write;

/// One line on stdout; never panics (`minibox doctor | head -3` closes the pipe).
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Good to go.
    Ok,
    /// Works, with a caveat worth knowing.
    Warn,
    /// Some chapters will not work until this is fixed.
    Fail,
    /// A fact about the machine, neither good nor bad.
    Info,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Short name, e.g. "cgroups".
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub found: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Extra lines of detail (controllers per hierarchy, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Check {
    pub fn new(name: &'static str, status: Status, found: impl Into<String>) -> Check {
        Check {
            name,
            status,
            found: found.into(),
            fix: None,
            details: Vec::new(),
        }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    pub fn detail(mut self, line: impl Into<String>) -> Check {
        self.details.push(line.into());
        self
    }
}

/// Runs every check, in the order a learner meets the chapters; `clean`
/// also removes what killed runs left behind.
pub fn run_checks(clean: bool) -> Vec<Check> {
    let mut checks = vec![privileges::check_root(), privileges::check_capabilities()];
    checks.push(kernel::check_kernel());
    checks.push(kernel::check_architecture());
    checks.push(environment::check_environment());
    checks.push(tools::check_busybox());
    checks.push(mounts::check_root_propagation());
    checks.push(userns::check_user_namespaces());
    checks.extend(cgroups::check_cgroups());
    checks.push(mounts::check_overlayfs());
    checks.push(leftovers::check_leftovers(clean));
    checks.push(network::check_network_leftovers(clean));
    checks
}

/// Prints the report for a person.
pub fn print_report(checks: &[Check]) {
    say(&format!(
        "{}",
        "minibox doctor — is this machine ready for containers?".bold()
    ));
    for check in checks {
        let mark = match check.status {
            Status::Ok => "  ok ".green().bold(),
            Status::Warn => "warn ".yellow().bold(),
            Status::Fail => "FAIL ".red().bold(),
            Status::Info => "info ".blue().bold(),
        };
        say(&format!("{mark} {:<13} {}", check.name.bold(), check.found));
        for line in &check.details {
            say(&format!("      {:<13} {}", "", line.dimmed()));
        }
        if let Some(fix) = &check.fix {
            say(&format!("      {:<13} {} {}", "", "→".yellow(), fix));
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    if failed == 0 {
        say(&format!(
            "\n{} ({warned} warning(s))",
            "Ready: every chapter can run here.".green().bold()
        ));
    } else {
        say(&format!(
            "\n{}",
            format!("{failed} check(s) failed: fix them (see → above), then run `minibox doctor` again.")
                .red()
                .bold()
        ));
    }
}

/// Reads a small text file, trimmed; `None` when it does not exist or cannot be read.
pub(crate) fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}
