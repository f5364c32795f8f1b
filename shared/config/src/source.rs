//! Where settings come from, and reading one setting as a type.
//!
//! Every binary reads its settings through one [`Source`]: the process environment first,
//! then the Secrets Manager secret named by `SECRET_ID`. A missing or bad value is a
//! [`ConfigError`] that names the variable to set.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use timmybot_domain::{ApplicationId, BotOwners};

use crate::names::env;
use crate::secrets::{SecretError, Secrets};
use crate::store::{StoreConfig, StoreConfigError};

/// Longest bad value echoed back in an error.
const SHOWN_MAX: usize = 64;
/// A list setting has one entry per worker, and there are at most this many workers.
pub const LIST_MAX: usize = timmybot_domain::shards::WORKER_COUNT_MAX as usize;
/// A queue URL or a service name is far shorter; a longer entry is a pasting mistake.
pub const LIST_ITEM_MAX: usize = 1_024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} must be {what}, got {got:?}")]
    Invalid {
        var: &'static str,
        what: &'static str,
        got: String,
    },
    /// A secret's value is never echoed.
    #[error("{var} must be {what}")]
    InvalidSecret {
        var: &'static str,
        what: &'static str,
    },
    #[error("{0} and {1} go together: set both, or neither")]
    Pair(&'static str, &'static str),
    #[error("{var} is not set; it is needed because {because}")]
    Needed {
        var: &'static str,
        because: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The line itself is not shown: it may hold a token.
    #[error("{path}: {why}")]
    DotEnv { path: String, why: String },
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, what: &'static str, got: &str) -> Self {
        Self::Invalid {
            var,
            what,
            got: got.chars().take(SHOWN_MAX).collect(),
        }
    }
}

/// Where a setting's value came from, for messages that say so (never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Environment,
    /// A `.env` file in the working directory.
    DotEnv,
    Secret,
}

type EnvFn = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The environment, then a `.env` file (the CLI reads one), then the secret.
pub struct Source {
    env: EnvFn,
    dotenv: HashMap<String, String>,
    secret: Secrets,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// The process environment, then the secret named by `SECRET_ID` (read once, now).
    pub async fn load() -> Result<Self, ConfigError> {
        Self::environment().and_secret().await
    }

    /// The process environment, then the `.env` file at `dotenv` if there is one, then the
    /// secret (whose `SECRET_ID` either may name).
    pub async fn load_with_dotenv(dotenv: &std::path::Path) -> Result<Self, ConfigError> {
        Self::environment().with_dotenv(dotenv)?.and_secret().await
    }

    async fn and_secret(self) -> Result<Self, ConfigError> {
        let id = self.get(env::SECRET_ID);
        let secret = Secrets::load_named(id.as_deref()).await?;
        Ok(self.with_secret(secret))
    }

    /// The process environment alone.
    pub fn environment() -> Self {
        Self {
            env: Box::new(|name| std::env::var(name).ok()),
            dotenv: HashMap::new(),
            secret: Secrets::default(),
        }
    }

    /// Fixed values instead of the environment: for tests, and for wiring a bot in-process.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            env: Box::new(move |name| map.get(name).cloned()),
            dotenv: HashMap::new(),
            secret: Secrets::default(),
        }
    }

    /// Consults the `.env` file at `path` after the environment, if there is one. A file
    /// that does not parse is an error naming its line, never showing it.
    pub fn with_dotenv(mut self, path: &std::path::Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(e) if e.not_found() => return Ok(self),
            Err(_) => {
                return Err(ConfigError::DotEnv {
                    path: shown,
                    why: "cannot be read".into(),
                })
            }
        };
        for item in iter {
            let (key, value) = item.map_err(|e| ConfigError::DotEnv {
                path: shown.clone(),
                why: match e {
                    dotenvy::Error::LineParse(_, at) => {
                        format!("not KEY=VALUE near character {at}")
                    }
                    _ => "cannot be read".into(),
                },
            })?;
            self.dotenv.insert(key, value);
        }
        Ok(self)
    }

    /// Consults `secret` after the environment.
    pub fn with_secret(mut self, secret: Secrets) -> Self {
        self.secret = secret;
        self
    }

    /// The value of `name`, trimmed; blank counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.raw(name).map(|(v, _)| v)
    }

    /// Where `name` is set, if it is.
    pub fn origin(&self, name: &str) -> Option<Origin> {
        self.raw(name).map(|(_, o)| o)
    }

    fn raw(&self, name: &str) -> Option<(String, Origin)> {
        let clean = |v: String| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        (self.env)(name)
            .and_then(clean)
            .map(|v| (v, Origin::Environment))
            .or_else(|| {
                self.dotenv
                    .get(name)
                    .cloned()
                    .and_then(clean)
                    .map(|v| (v, Origin::DotEnv))
            })
            .or_else(|| {
                self.secret
                    .get(name)
                    .map(str::to_owned)
                    .and_then(clean)
                    .map(|v| (v, Origin::Secret))
            })
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// A value that must never be shown: a token, a client secret, a key.
    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }

    pub fn required_secret(&self, name: &'static str) -> Result<SecretString, ConfigError> {
        self.secret(name).ok_or(ConfigError::Missing(name))
    }

    /// `name` parsed as `T`, if set; `what` says what it must look like.
    pub fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        what: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)
            .map(|raw| {
                raw.parse()
                    .map_err(|_| ConfigError::invalid(name, what, &raw))
            })
            .transpose()
    }

    /// A comma-separated list (one entry per worker), if set. Blanks around commas are
    /// allowed; an empty entry, more than [`LIST_MAX`] entries or an entry over
    /// [`LIST_ITEM_MAX`] characters is refused.
    pub fn list(&self, name: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let items: Vec<String> = raw.split(',').map(|s| s.trim().to_owned()).collect();
        if items.len() > LIST_MAX || items.iter().any(|i| i.len() > LIST_ITEM_MAX) {
            return Err(ConfigError::invalid(
                name,
                "a list of at most 64 entries, each under 1,024 characters",
                &raw,
            ));
        }
        if items.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(
                name,
                "a comma-separated list without empty entries",
                &raw,
            ));
        }
        Ok(Some(items))
    }

    /// A duration such as `2m` or `90s`.
    pub fn duration(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => humantime::parse_duration(&raw)
                .map_err(|_| ConfigError::invalid(name, "a duration such as 2m or 90s", &raw)),
        }
    }

    /// Two settings that are set together or not at all.
    pub fn pair(
        &self,
        a: &'static str,
        b: &'static str,
    ) -> Result<Option<(String, String)>, ConfigError> {
        match (self.get(a), self.get(b)) {
            (Some(x), Some(y)) => Ok(Some((x, y))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Pair(a, b)),
        }
    }

    /// `DISCORD_APPLICATION_ID`.
    pub fn application_id(&self) -> Result<ApplicationId, ConfigError> {
        let raw = self.required(env::DISCORD_APPLICATION_ID)?;
        ApplicationId::parse(&raw)
            .map_err(|_| ConfigError::invalid(env::DISCORD_APPLICATION_ID, "a numeric id", &raw))
    }

    /// `BOT_OWNER_IDS`; empty when unset.
    pub fn owners(&self) -> Result<BotOwners, ConfigError> {
        let raw = self.get(env::BOT_OWNER_IDS).unwrap_or_default();
        BotOwners::parse(&raw).map_err(|_| {
            ConfigError::invalid(
                env::BOT_OWNER_IDS,
                "a comma-separated list of Discord user ids",
                &raw,
            )
        })
    }

    /// `STORE` and, for DynamoDB, `TABLE_NAME`.
    pub fn store(&self) -> Result<StoreConfig, ConfigError> {
        Ok(StoreConfig::parse(
            self.get(env::STORE).as_deref(),
            self.get(env::TABLE_NAME).as_deref(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_environment_wins_and_blank_is_unset() {
        let secret = Secrets::parse("s", r#"{"A":"from-secret","B":"b","C":"c"}"#).unwrap();
        let src = Source::from_pairs([("A", "from-env"), ("B", "  ")]).with_secret(secret);
        assert_eq!(src.get("A").as_deref(), Some("from-env"));
        assert_eq!(src.origin("A"), Some(Origin::Environment));
        assert_eq!(
            src.get("B").as_deref(),
            Some("b"),
            "a blank env var falls through"
        );
        assert_eq!(src.origin("C"), Some(Origin::Secret));
        assert_eq!(src.get("D"), None);
    }

    #[test]
    fn typed_readers_name_the_variable() {
        let src = Source::from_pairs([
            ("DISCORD_APPLICATION_ID", "abc"),
            ("BOT_OWNER_IDS", "1,x"),
            ("IDLE_LEAVE", "soon"),
            ("WORKER_CLUSTER", "c"),
        ]);
        let e = src.application_id().unwrap_err().to_string();
        assert!(
            e.contains("DISCORD_APPLICATION_ID must be a numeric id"),
            "{e}"
        );
        assert!(src
            .owners()
            .unwrap_err()
            .to_string()
            .contains("BOT_OWNER_IDS"));
        let e = src.duration("IDLE_LEAVE", Duration::ZERO).unwrap_err();
        assert!(e.to_string().contains("IDLE_LEAVE"), "{e}");
        let e = src.pair("WORKER_CLUSTER", "WORKER_SERVICE").unwrap_err();
        assert!(e.to_string().contains("WORKER_SERVICE"), "{e}");
        assert!(matches!(
            Source::from_pairs([("X", "1")]).required("DISCORD_TOKEN"),
            Err(ConfigError::Missing("DISCORD_TOKEN"))
        ));
    }

    #[test]
    fn lists_are_trimmed_bounded_and_have_no_holes() {
        let src = Source::from_pairs([("A", " q0 , q1"), ("B", "q0,,q2"), ("C", "x")]);
        assert_eq!(src.list("A").unwrap(), Some(vec!["q0".into(), "q1".into()]));
        assert_eq!(src.list("C").unwrap(), Some(vec!["x".into()]));
        assert_eq!(src.list("D").unwrap(), None);
        let e = src.list("B").unwrap_err().to_string();
        assert!(e.contains("without empty entries"), "{e}");
        let many = vec!["q"; LIST_MAX + 1].join(",");
        let long = "q".repeat(LIST_ITEM_MAX + 1);
        let src = Source::from_pairs([("M", many), ("L", long)]);
        assert!(src.list("M").is_err());
        let e = src.list("L").unwrap_err().to_string();
        assert!(e.len() < 300, "the echo is bounded: {e}");
    }

    #[test]
    fn the_application_id_is_typed_once() {
        let src = Source::from_pairs([("DISCORD_APPLICATION_ID", " 1100 ")]);
        assert_eq!(src.application_id().unwrap().get(), 1100);
        assert!(Source::from_pairs([("DISCORD_APPLICATION_ID", "0")])
            .application_id()
            .is_err());
    }

    #[test]
    fn a_dotenv_file_comes_after_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# my bot\nDISCORD_TOKEN=from-file\nexport BOT_OWNER_IDS=\"42\"\nIDLE_LEAVE='3m'\n",
        )
        .unwrap();
        let src = Source::from_pairs([("DISCORD_TOKEN", "from-env")])
            .with_dotenv(&path)
            .unwrap();
        assert_eq!(src.get("DISCORD_TOKEN").as_deref(), Some("from-env"));
        assert_eq!(src.get("BOT_OWNER_IDS").as_deref(), Some("42"));
        assert_eq!(src.origin("BOT_OWNER_IDS"), Some(Origin::DotEnv));
        assert_eq!(src.get("IDLE_LEAVE").as_deref(), Some("3m"));
        // No file is no settings, not an error.
        assert!(Source::from_pairs([("A", "1")])
            .with_dotenv(&dir.path().join("missing"))
            .is_ok());
        // A broken line is named, never shown: it may be a token.
        std::fs::write(&path, "DISCORD_TOKEN=ok\nthis is my-secret-token\n").unwrap();
        let e = Source::environment()
            .with_dotenv(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(".env") && !e.contains("my-secret-token"), "{e}");
    }

    #[test]
    fn secrets_never_show() {
        let src = Source::from_pairs([("DISCORD_TOKEN", "hunter2")]);
        let token = src.required_secret("DISCORD_TOKEN").unwrap();
        assert_eq!(token.expose_secret(), "hunter2");
        assert!(!format!("{token:?}").contains("hunter2"));
        assert!(!format!("{src:?}").contains("hunter2"));
    }
}
