//! Resource limits (setrlimit): per process, inherited across fork and execve.
//!
//! Lowering a limit is always allowed; raising a *hard* limit needs
//! CAP_SYS_RESOURCE. Some hosts (this one, when it runs inside a VM sandbox
//! or a container) do not have it even as root: we check before anything
//! starts, so the answer is an error message, not a half-made container.

use crate::error::SecurityError;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// One limit: `nofile=1024:4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

/// The names docker's `--ulimit` and OCI's `RLIMIT_*` use.
const NAMES: [(&str, Resource); 15] = [
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("stack", Resource::RLIMIT_STACK),
];

fn known() -> String {
    NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// `nofile`, `NOFILE` or `RLIMIT_NOFILE`.
pub fn resource_named(name: &str) -> Result<Resource, SecurityError> {
    let short = name.to_ascii_lowercase();
    let short = short.trim_start_matches("rlimit_");
    NAMES
        .iter()
        .find(|(n, _)| *n == short)
        .map(|(_, r)| *r)
        .ok_or_else(|| SecurityError::UnknownRlimit {
            name: name.to_string(),
            known: known(),
        })
}

pub fn name_of(resource: Resource) -> &'static str {
    NAMES
        .iter()
        .find(|(_, r)| *r == resource)
        .map_or("?", |(n, _)| *n)
}

impl Rlimit {
    /// `NAME=SOFT[:HARD]` (docker's `--ulimit`); one number sets both.
    pub fn parse(text: &str) -> Result<Rlimit, SecurityError> {
        let bad = || SecurityError::InvalidRlimit {
            text: text.to_string(),
            known: known(),
        };
        let (name, values) = text.split_once('=').ok_or_else(bad)?;
        let resource = resource_named(name)?;
        let (soft, hard) = match values.split_once(':') {
            Some((s, h)) => (s.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?),
            None => {
                let v = values.parse().map_err(|_| bad())?;
                (v, v)
            }
        };
        Rlimit::new(resource, soft, hard)
    }

    pub fn new(resource: Resource, soft: u64, hard: u64) -> Result<Rlimit, SecurityError> {
        if soft > hard {
            return Err(SecurityError::RlimitOrder {
                name: name_of(resource).into(),
                soft,
                hard,
            });
        }
        Ok(Rlimit {
            resource,
            soft,
            hard,
        })
    }

    /// PARENT side: refuse a raise of the hard limit we could not make.
    pub fn check(&self) -> Result<(), SecurityError> {
        let (_, current) = getrlimit(self.resource).map_err(|e| {
            SecurityError::apply(
                format!("getrlimit({})", name_of(self.resource)),
                e,
                "see getrlimit(2)",
            )
        })?;
        let can_raise = caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .unwrap_or(false);
        if self.hard > current && !can_raise {
            return Err(SecurityError::RlimitRaise {
                name: name_of(self.resource).into(),
                current,
                wanted: self.hard,
            });
        }
        Ok(())
    }

    /// CHILD side: setrlimit(2).
    pub fn apply(&self) -> Result<(), SecurityError> {
        setrlimit(self.resource, self.soft, self.hard).map_err(|e| {
            SecurityError::apply(
                format!(
                    "setrlimit({}, {}:{})",
                    name_of(self.resource),
                    self.soft,
                    self.hard
                ),
                e,
                "raising a hard limit needs CAP_SYS_RESOURCE",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_ulimit_syntax() {
        let r = Rlimit::parse("nofile=1024:2048").ok();
        assert_eq!(r.map(|r| (r.soft, r.hard)), Some((1024, 2048)));
        assert!(Rlimit::parse("RLIMIT_NPROC=10").is_ok());
        assert!(Rlimit::parse("nofile=10:5").is_err());
        let err = Rlimit::parse("files=1")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown rlimit \"files\""), "{err}");
        let err = Rlimit::parse("nofile=lots")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("invalid --ulimit \"nofile=lots\""), "{err}");
    }
}
