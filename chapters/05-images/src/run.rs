//! What an image says to run: Entrypoint + Cmd, Env, WorkingDir, User —
//! turned into the process a container starts (docker's rules).

use oci_spec::image::ImageConfiguration;

/// The process to start in a container from this image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    /// Numeric `uid[:gid]` from the config's User (names need the image's
    /// /etc/passwd, which a later chapter reads).
    pub user: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunConfigError {
    #[error("the image has no Entrypoint or Cmd: give the command to run after `--`")]
    NoCommand,
    #[error("the image's User is {0:?}: only numeric UID[:GID] is supported so far (names need the image's /etc/passwd) — rebuild it with a numeric USER, e.g. `USER 65534:65534`")]
    NamedUser(String),
}

/// The path docker sets when an image has no PATH.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ANCHOR: process_config
// ANCHOR: process_argv
/// Docker's rule: the command is Entrypoint followed by Cmd; arguments on
/// the command line replace Cmd (and keep the Entrypoint).
pub fn process_config(
    config: &ImageConfiguration,
    args: &[String],
) -> Result<ProcessConfig, RunConfigError> {
    let config = config.config().clone().unwrap_or_default();
    let entrypoint = config.entrypoint().clone().unwrap_or_default();
    let cmd = if args.is_empty() {
        config.cmd().clone().unwrap_or_default()
    } else {
        args.to_vec()
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        return Err(RunConfigError::NoCommand);
    }
    // ANCHOR_END: process_argv
    // ANCHOR: process_rest
    let mut env: Vec<(String, String)> = config
        .env()
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.insert(0, ("PATH".into(), DEFAULT_PATH.into()));
    }
    let workdir = config.working_dir().clone().filter(|w| !w.is_empty());
    let user = match config.user().as_deref() {
        None | Some("") => None,
        Some(user) => Some(parse_user(user)?),
    };
    Ok(ProcessConfig {
        argv,
        env,
        workdir,
        user,
    })
}
// ANCHOR_END: process_rest
// ANCHOR_END: process_config

/// `uid` or `uid:gid` (gid defaults to uid's number, as there is no /etc/group lookup).
pub fn parse_user(user: &str) -> Result<(u32, u32), RunConfigError> {
    let named = || RunConfigError::NamedUser(user.to_string());
    let (uid, gid) = match user.split_once(':') {
        Some((uid, gid)) => (uid, Some(gid)),
        None => (user, None),
    };
    let uid: u32 = uid.parse().map_err(|_| named())?;
    let gid: u32 = match gid {
        Some(gid) => gid.parse().map_err(|_| named())?,
        None => uid,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ImageConfiguration {
        serde_json::from_str(&format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"config":{json}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn entrypoint_then_cmd_and_args_replace_cmd() {
        let c = config(
            r#"{"Entrypoint":["/bin/echo","hi"],"Cmd":["there"],"Env":["A=1"],"WorkingDir":"/w","User":"1000:50"}"#,
        );
        let p = process_config(&c, &[]).unwrap();
        assert_eq!(p.argv, ["/bin/echo", "hi", "there"]);
        assert_eq!(p.env[0].0, "PATH");
        assert_eq!(p.env[1], ("A".into(), "1".into()));
        assert_eq!(p.workdir.as_deref(), Some("/w"));
        assert_eq!(p.user, Some((1000, 50)));
        let p = process_config(&c, &["you".to_string()]).unwrap();
        assert_eq!(p.argv, ["/bin/echo", "hi", "you"]);
        assert_eq!(
            process_config(&config("{}"), &[]),
            Err(RunConfigError::NoCommand)
        );
        assert!(matches!(
            process_config(&config(r#"{"Cmd":["x"],"User":"nobody"}"#), &[]),
            Err(RunConfigError::NamedUser(_))
        ));
    }
}
