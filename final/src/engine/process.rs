//! What the container runs, by docker's rules: the command line, the
//! environment and the working directory from the image and the flags.

use super::error::{EngineError, Result};

/// The path docker sets when neither image nor flags give one.
pub use ch05_images::run::DEFAULT_PATH;

/// (full argv, the entrypoint part, the command part).
pub type Argv = (Vec<String>, Option<Vec<String>>, Vec<String>);

// ANCHOR: argv
/// docker's rule for the command line:
///
/// | image Entrypoint | `--entrypoint` | args given | runs |
/// |---|---|---|---|
/// | E | – | – | E + image Cmd |
/// | E | – | A | E + A |
/// | – | X | – | X (the image's Cmd is dropped) |
/// | – | X | A | X + A |
///
/// `--entrypoint ""` clears the entrypoint (and the image's Cmd); nothing
/// left to run is an error before anything is created.
pub fn argv(
    image_entrypoint: &[String],
    image_cmd: &[String],
    entrypoint_flag: Option<&str>,
    args: &[String],
) -> Result<Argv> {
    let (entrypoint, cmd): (Vec<String>, Vec<String>) = match entrypoint_flag {
        Some("") => (Vec::new(), args.to_vec()),
        Some(flag) => (vec![flag.to_string()], args.to_vec()),
        None if args.is_empty() => (image_entrypoint.to_vec(), image_cmd.to_vec()),
        None => (image_entrypoint.to_vec(), args.to_vec()),
    };
    let full: Vec<String> = entrypoint.iter().chain(&cmd).cloned().collect();
    if full.is_empty() {
        return Err(EngineError::Invalid(
            "no command specified: the image has no Entrypoint or Cmd, give one after the image name".into(),
        ));
    }
    let entrypoint = (!entrypoint.is_empty()).then_some(entrypoint);
    Ok((full, entrypoint, cmd))
}
// ANCHOR_END: argv

/// Reads `--env-file`: `KEY=VALUE` lines, `#` comments, a bare `KEY` taken
/// from our own environment (as docker does).
pub fn env_file(path: &std::path::Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(EngineError::io("reading the env file", path))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand)
        .collect())
}

/// `KEY=VALUE` as is; a bare `KEY` from our environment, or dropped.
pub fn expand(entry: &str) -> Option<String> {
    if entry.contains('=') {
        return Some(entry.to_string());
    }
    std::env::var(entry).ok().map(|v| format!("{entry}={v}"))
}

/// The environment: the image's, then the flags' (a later KEY replaces an
/// earlier one), PATH added if missing, HOSTNAME and TERM as docker sets them.
pub fn environment(
    image_env: &[String],
    flags: &[String],
    hostname: &str,
    tty: bool,
) -> Vec<String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |kv: &str| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match env.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => env.push((k.to_string(), v.to_string())),
        }
    };
    set(&format!("PATH={DEFAULT_PATH}"));
    set(&format!("HOSTNAME={hostname}"));
    if tty {
        set("TERM=xterm");
    }
    for kv in image_env.iter().chain(flags) {
        set(kv);
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn docker_entrypoint_and_cmd_rules() {
        let ep = s(&["/bin/echo", "E"]);
        let cmd = s(&["C"]);
        assert_eq!(
            argv(&ep, &cmd, None, &[]).map(|r| r.0).ok(),
            Some(s(&["/bin/echo", "E", "C"]))
        );
        assert_eq!(
            argv(&ep, &cmd, None, &s(&["A"])).map(|r| r.0).ok(),
            Some(s(&["/bin/echo", "E", "A"]))
        );
        assert_eq!(
            argv(&[], &cmd, Some("/x"), &[]).map(|r| r.0).ok(),
            Some(s(&["/x"]))
        );
        assert_eq!(
            argv(&[], &cmd, Some("/x"), &s(&["A"])).map(|r| r.0).ok(),
            Some(s(&["/x", "A"]))
        );
        assert!(argv(&ep, &cmd, Some(""), &[]).is_err());
        assert!(argv(&[], &[], None, &[]).is_err());
    }

    #[test]
    fn flags_override_image_env() {
        let env = environment(&s(&["A=1", "PATH=/bin"]), &s(&["A=2", "B=3"]), "h", false);
        assert_eq!(env, s(&["PATH=/bin", "HOSTNAME=h", "A=2", "B=3"]));
    }
}
