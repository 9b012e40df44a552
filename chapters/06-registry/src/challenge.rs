//! `WWW-Authenticate`: how a registry tells us to authenticate.
//!
//! A 401 from `GET /v2/` carries one of two challenges:
//!
//! ```text
//! WWW-Authenticate: Basic realm="registry"
//! WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io"
//! ```
//!
//! Basic means "send a user and password with every request"; Bearer means
//! "get a token from `realm` for `service` and a `scope`, then send that".
//! The syntax is RFC 7235's: a scheme, then `key=value` pairs, values quoted
//! or bare, separated by commas.

use std::collections::BTreeMap;

/// One parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Send `Authorization: Basic base64(user:password)`.
    Basic { realm: Option<String> },
    /// Get a token from `realm` and send `Authorization: Bearer TOKEN`.
    Bearer {
        realm: String,
        service: Option<String>,
        /// What the registry wanted (with `error="insufficient_scope"` when ours was too small).
        scope: Option<String>,
    },
}

/// The header was not a challenge we can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WWW-Authenticate {header:?}: {problem}")]
pub struct ChallengeError {
    pub header: String,
    pub problem: &'static str,
}

// ANCHOR: parse
impl Challenge {
    /// Parses the first Basic or Bearer challenge in a `WWW-Authenticate` value.
    pub fn parse(header: &str) -> Result<Challenge, ChallengeError> {
        let fail = |problem| ChallengeError {
            header: header.to_string(),
            problem,
        };
        for (scheme, params) in split_challenges(header).map_err(fail)? {
            match scheme.to_ascii_lowercase().as_str() {
                "basic" => {
                    return Ok(Challenge::Basic {
                        realm: params.get("realm").cloned(),
                    })
                }
                "bearer" => {
                    let realm = params.get("realm").cloned();
                    return Ok(Challenge::Bearer {
                        realm: realm.ok_or_else(|| fail("a Bearer challenge needs a realm"))?,
                        service: params.get("service").cloned(),
                        scope: params.get("scope").cloned(),
                    });
                }
                _ => continue,
            }
        }
        Err(fail("neither a Basic nor a Bearer challenge"))
    }
}
// ANCHOR_END: parse

type Params = BTreeMap<String, String>;

/// Splits `Scheme k=v, k="v", Scheme2 k=v` into schemes with their parameters
/// (parameter names lowercased, quoted values unescaped).
fn split_challenges(header: &str) -> Result<Vec<(String, Params)>, &'static str> {
    let mut out: Vec<(String, Params)> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start();
        if let Some(value_text) = after.strip_prefix('=') {
            // A parameter of the current scheme.
            let Some((_, params)) = out.last_mut() else {
                return Err("a parameter before any scheme");
            };
            let (value, remaining) = parse_value(value_text.trim_start())?;
            params.insert(token.to_ascii_lowercase(), value);
            rest = remaining;
        } else {
            // A new scheme.
            out.push((token.to_string(), Params::new()));
            rest = after;
        }
    }
    if out.is_empty() {
        return Err("empty");
    }
    Ok(out)
}

/// A quoted string (with `\` escapes) or a bare token, and what follows it.
fn parse_value(text: &str) -> Result<(String, &str), &'static str> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.extend(chars.next().map(|(_, c)| c)),
                '"' => return Ok((value, &quoted[i + 1..])),
                c => value.push(c),
            }
        }
        Err("an unterminated quoted string")
    } else {
        let end = text.find(',').unwrap_or(text.len());
        Ok((text[..end].trim().to_string(), &text[end..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_and_distribution_challenges() {
        let hub = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#;
        assert_eq!(
            Challenge::parse(hub).unwrap(),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull".into()),
            }
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        // Bare values, odd spacing, escapes, an unknown scheme first.
        let odd =
            r#"Negotiate, bearer  realm = https://x/t , service="a\"b",error="insufficient_scope""#;
        assert_eq!(
            Challenge::parse(odd).unwrap(),
            Challenge::Bearer {
                realm: "https://x/t".into(),
                service: Some("a\"b".into()),
                scope: None,
            }
        );
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        for bad in [
            "",
            "Bearer service=\"x\"",
            "Negotiate",
            "Bearer realm=\"unterminated",
            "=x",
        ] {
            assert!(Challenge::parse(bad).is_err(), "{bad:?}");
        }
    }
}
