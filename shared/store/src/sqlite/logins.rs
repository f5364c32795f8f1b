//! The dashboard's logins in flight, in SQLite: one row per `state` hash, deleted when taken.

use super::*;
use crate::LoginStore;

#[async_trait]
impl LoginStore for SqliteStore {
    async fn begin_login(&self, state_hash: &str, expires_at_ms: u64) -> StoreResult<()> {
        let (hash, expires) = (state_hash.to_owned(), to_sql(expires_at_ms));
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO web_logins (state_hash, expires_at_ms) VALUES (?1, ?2)",
                params![hash, expires],
            )?;
            Ok(())
        })
        .await
    }

    async fn finish_login(&self, state_hash: &str) -> StoreResult<bool> {
        let (hash, now) = (state_hash.to_owned(), self.now());
        self.with_conn(move |c| {
            // One statement: two callbacks racing with the same state cannot both delete it.
            let taken = c.execute(
                "DELETE FROM web_logins WHERE state_hash = ?1 AND expires_at_ms > ?2",
                params![hash, now],
            )?;
            Ok(taken > 0)
        })
        .await
    }
}
