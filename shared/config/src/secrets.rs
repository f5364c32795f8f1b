//! The one Secrets Manager secret (DESIGN.md): a JSON object of settings such as
//! `DISCORD_TOKEN`, `DISCORD_PUBLIC_KEY`, the OAuth clients and `token_vault_key`.
//! Read once at start. Its values never appear in Debug output or logs.

use std::collections::HashMap;
use std::fmt;

#[cfg(feature = "aws")]
use crate::aws::AwsError;
use crate::names::env;

/// A secret larger than this is not settings; Secrets Manager itself caps values at 64 KiB.
const SECRET_MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[cfg(feature = "aws")]
    #[error("reading the secret {id:?} (from {var}) failed: {source}", var = env::SECRET_ID)]
    Fetch { id: String, source: AwsError },
    #[error("{var} is set, but this build cannot read Secrets Manager", var = env::SECRET_ID)]
    NoSecretsManager,
    #[error("the secret {id:?} has no string value")]
    Empty { id: String },
    #[error("the secret {id:?} must be a JSON object of settings: {reason}")]
    Malformed { id: String, reason: String },
}

/// Settings from the secret, consulted after the environment.
#[derive(Default, Clone)]
pub struct Secrets {
    values: HashMap<String, String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Secrets")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Loads the secret named by `id`, or nothing when it is `None`.
    pub async fn load_named(id: Option<&str>) -> Result<Self, SecretError> {
        let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::default());
        };
        #[cfg(feature = "aws")]
        {
            let client = aws_sdk_secretsmanager::Client::new(&crate::aws::load_config().await);
            Self::load(&client, id).await
        }
        #[cfg(not(feature = "aws"))]
        {
            let _ = id;
            Err(SecretError::NoSecretsManager)
        }
    }

    #[cfg(feature = "aws")]
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        id: &str,
    ) -> Result<Self, SecretError> {
        let out = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| SecretError::Fetch {
                id: id.to_owned(),
                source: AwsError::from_sdk(e),
            })?;
        let text = out
            .secret_string
            .ok_or_else(|| SecretError::Empty { id: id.to_owned() })?;
        Self::parse(id, &text)
    }

    /// Parses the JSON object; strings and numbers are kept, as text.
    pub fn parse(id: &str, text: &str) -> Result<Self, SecretError> {
        let malformed = |reason: String| SecretError::Malformed {
            id: id.to_owned(),
            reason,
        };
        if text.len() > SECRET_MAX_BYTES {
            return Err(malformed(format!("{} bytes is too large", text.len())));
        }
        // The parser's message could quote the secret's text; report only where it broke.
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| {
                malformed(format!(
                    "not a JSON object (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
        let mut values = HashMap::new();
        for (key, value) in map {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(malformed(format!("{key:?} must be a string"))),
            };
            values.insert(key, text);
        }
        Ok(Self { values })
    }

    /// How many settings the secret holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The secret's own value of `name`, ignoring the environment.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_numbers_and_refuses_the_rest() {
        let s = Secrets::parse(
            "s",
            r#"{"DISCORD_TOKEN":"abc","DISCORD_APPLICATION_ID":1234}"#,
        )
        .unwrap();
        assert_eq!(s.get("DISCORD_TOKEN"), Some("abc"));
        assert_eq!(s.get("DISCORD_APPLICATION_ID"), Some("1234"));
        assert!(Secrets::parse("s", r#"{"x":{"y":1}}"#).is_err());
        assert!(Secrets::parse("s", "[1]").is_err());
    }

    #[test]
    fn no_secret_value_leaks_through_debug_or_errors() {
        let s = Secrets::parse("s", r#"{"DISCORD_TOKEN":"hunter2"}"#).unwrap();
        let shown = format!("{s:?}");
        assert!(
            shown.contains("DISCORD_TOKEN") && !shown.contains("hunter2"),
            "{shown}"
        );
        let err = Secrets::parse("s", r#"{"DISCORD_TOKEN":"hunter2" oops}"#)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
