//! Which store to open (`STORE`, `TABLE_NAME`). Opening it is `timmybot_store::open`.

use std::path::PathBuf;

use crate::names::{env, DEFAULT_STORE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    Sqlite(PathBuf),
    Dynamo { table: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreConfigError {
    #[error("{var} must be `sqlite:PATH` or `dynamodb`, got {got:?}", var = env::STORE)]
    BadStore { got: String },
    #[error("{} needs a file path after `sqlite:`", env::STORE)]
    EmptyPath,
    #[error(
        "{}=dynamodb needs {} (the single table's name)",
        env::STORE,
        env::TABLE_NAME
    )]
    MissingTable,
}

impl StoreConfig {
    /// Parses `STORE` (unset means the default SQLite file) and, for DynamoDB, `TABLE_NAME`.
    pub fn parse(store: Option<&str>, table: Option<&str>) -> Result<Self, StoreConfigError> {
        let store = store
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_STORE);
        if let Some(path) = store.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(StoreConfigError::EmptyPath);
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if store == "dynamodb" {
            let table = table.map(str::trim).filter(|t| !t.is_empty());
            return table
                .map(|t| Self::Dynamo {
                    table: t.to_owned(),
                })
                .ok_or(StoreConfigError::MissingTable);
        }
        Err(StoreConfigError::BadStore {
            got: store.chars().take(64).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            StoreConfig::parse(None, None),
            Ok(StoreConfig::Sqlite("timmybot.db".into()))
        );
        assert_eq!(
            StoreConfig::parse(Some("sqlite:/var/lib/tb.db"), None),
            Ok(StoreConfig::Sqlite("/var/lib/tb.db".into()))
        );
        assert_eq!(
            StoreConfig::parse(Some("dynamodb"), Some("timmybot")),
            Ok(StoreConfig::Dynamo {
                table: "timmybot".into()
            })
        );
    }

    #[test]
    fn bad_config_names_what_to_set() {
        let err = StoreConfig::parse(Some("dynamodb"), Some(" ")).unwrap_err();
        assert_eq!(err, StoreConfigError::MissingTable);
        assert!(err.to_string().contains("TABLE_NAME"));
        assert_eq!(
            StoreConfig::parse(Some("sqlite:"), None),
            Err(StoreConfigError::EmptyPath)
        );
        let err = StoreConfig::parse(Some("postgres://x"), None).unwrap_err();
        assert!(err.to_string().contains("STORE must be"), "{err}");
    }
}
