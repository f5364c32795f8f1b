//! Opening the store that `STORE` names.

use std::sync::Arc;

use timmybot_domain::Clock;

use crate::{SharedStore, StoreConfig, StoreError};

/// Why a store could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("this build has no {0} store; it was built without the `{1}` feature")]
    NotBuiltIn(&'static str, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store; for DynamoDB, with the SDK's standard configuration sources.
pub async fn open(config: &StoreConfig, clock: Arc<dyn Clock>) -> Result<SharedStore, OpenError> {
    match config {
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite(path) => Ok(Arc::new(
            crate::sqlite::SqliteStore::open(path, clock).await?,
        )),
        #[cfg(not(feature = "sqlite"))]
        StoreConfig::Sqlite(_) => {
            let _ = clock;
            Err(OpenError::NotBuiltIn("SQLite", "sqlite"))
        }
        #[cfg(feature = "dynamodb")]
        StoreConfig::Dynamo { table } => {
            let client = aws_sdk_dynamodb::Client::new(&timmybot_config::aws::load_config().await);
            Ok(Arc::new(crate::dynamo::DynamoStore::new(
                client,
                table.clone(),
                clock,
            )))
        }
        #[cfg(not(feature = "dynamodb"))]
        StoreConfig::Dynamo { .. } => {
            let _ = clock;
            Err(OpenError::NotBuiltIn("DynamoDB", "dynamodb"))
        }
    }
}
