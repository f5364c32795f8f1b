//! Settings, read once at start from the environment (DESIGN.md's names).

use timmybot_shared::domain::BotOwners;
use timmybot_shared::names::env;
use timmybot_shared::secrets::Secrets;
use timmybot_shared::store::config::{StoreConfig, StoreConfigError};

use crate::verify::{BadPublicKey, Verifier};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    PublicKey(#[from] BadPublicKey),
    #[error("{var} is not a comma-separated list of user ids: {err}", var = env::BOT_OWNER_IDS)]
    Owners {
        err: timmybot_shared::domain::IdError,
    },
    #[error(transparent)]
    Store(#[from] StoreConfigError),
    #[error(transparent)]
    Secret(#[from] timmybot_shared::secrets::SecretError),
    #[error(
        "{} and {} go together: set both to wake the worker, or neither",
        env::WORKER_CLUSTER,
        env::WORKER_SERVICE
    )]
    HalfWorker,
}

pub struct Settings {
    pub verifier: Verifier,
    pub owners: BotOwners,
    pub store: StoreConfig,
    /// The SQS FIFO queue intents go to. The in-process bus is only for `timmybot serve`,
    /// where the worker shares the process; a standalone endpoint needs the queue.
    pub intent_queue_url: String,
    pub application_id: String,
    /// The bot token, for the REST calls commands make (the voice-channel lookup).
    pub discord_token: String,
    /// The ECS cluster and service of the voice worker, to wake it.
    pub worker: Option<(String, String)>,
}

impl Settings {
    /// From the environment, falling back to the secret named by `SECRET_ID`. Read once.
    pub async fn load() -> Result<Self, ConfigError> {
        let secrets = Secrets::from_env().await?;
        Self::from_lookup(|name| secrets.lookup(name))
    }

    /// Reads settings through `var`, so tests need not touch the process environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let key =
            var(env::DISCORD_PUBLIC_KEY).ok_or(ConfigError::Missing(env::DISCORD_PUBLIC_KEY))?;
        let verifier = Verifier::from_hex(&key)?;
        let owners = BotOwners::parse(&var(env::BOT_OWNER_IDS).unwrap_or_default())
            .map_err(|err| ConfigError::Owners { err })?;
        let store =
            StoreConfig::parse(var(env::STORE).as_deref(), var(env::TABLE_NAME).as_deref())?;
        let intent_queue_url = var(env::INTENT_QUEUE_URL)
            .filter(|u| !u.trim().is_empty())
            .ok_or(ConfigError::Missing(env::INTENT_QUEUE_URL))?;
        let required = |name: &'static str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let application_id = required(env::DISCORD_APPLICATION_ID)?;
        let discord_token = required(env::DISCORD_TOKEN)?;
        let worker = match (required(env::WORKER_CLUSTER), required(env::WORKER_SERVICE)) {
            (Ok(cluster), Ok(service)) => Some((cluster, service)),
            (Err(_), Err(_)) => None,
            _ => return Err(ConfigError::HalfWorker),
        };
        Ok(Self {
            verifier,
            owners,
            store,
            intent_queue_url,
            application_id,
            discord_token,
            worker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

    #[test]
    fn reads_a_full_configuration() {
        let s = Settings::from_lookup(lookup(&[
            ("DISCORD_PUBLIC_KEY", KEY),
            ("BOT_OWNER_IDS", "1,2"),
            ("STORE", "dynamodb"),
            ("TABLE_NAME", "t"),
            ("INTENT_QUEUE_URL", "http://q"),
            ("DISCORD_APPLICATION_ID", "11"),
            ("DISCORD_TOKEN", "t"),
            ("WORKER_CLUSTER", "c"),
            ("WORKER_SERVICE", "s"),
        ]))
        .unwrap();
        assert_eq!(s.worker, Some(("c".into(), "s".into())));
        assert_eq!(s.store, StoreConfig::Dynamo { table: "t".into() });
    }

    #[test]
    fn each_mistake_names_what_to_set() {
        let err = |pairs: &[(&str, &str)]| {
            Settings::from_lookup(lookup(pairs))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&[]).contains("DISCORD_PUBLIC_KEY is not set"));
        assert!(err(&[("DISCORD_PUBLIC_KEY", "abc")]).contains("DISCORD_PUBLIC_KEY must be"));
        assert!(
            err(&[("DISCORD_PUBLIC_KEY", KEY), ("BOT_OWNER_IDS", "x")]).contains("BOT_OWNER_IDS")
        );
        assert!(err(&[("DISCORD_PUBLIC_KEY", KEY), ("STORE", "dynamodb")]).contains("TABLE_NAME"));
        assert!(err(&[("DISCORD_PUBLIC_KEY", KEY)]).contains("INTENT_QUEUE_URL is not set"));
        let base = [("DISCORD_PUBLIC_KEY", KEY), ("INTENT_QUEUE_URL", "q")];
        assert!(err(&base).contains("DISCORD_APPLICATION_ID is not set"));
        let more = [
            base[0],
            base[1],
            ("DISCORD_APPLICATION_ID", "1"),
            ("DISCORD_TOKEN", "t"),
            ("WORKER_CLUSTER", "c"),
        ];
        assert!(err(&more).contains("go together"));
    }
}
