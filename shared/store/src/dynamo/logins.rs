//! The dashboard's logins in flight in the single table: `LOGIN#<state hash>` / `LOGIN`, with
//! a `ttl`. Taking one is a delete that returns the old item, so it succeeds once.

use super::*;
use crate::LoginStore;

const SK_LOGIN: &str = "LOGIN";

fn login_pk(state_hash: &str) -> String {
    format!("LOGIN#{state_hash}")
}

#[derive(Serialize, Deserialize)]
struct LoginItem {
    pk: String,
    sk: String,
    expires_at_ms: u64,
    ttl: u64,
}

#[async_trait]
impl LoginStore for DynamoStore {
    async fn begin_login(&self, state_hash: &str, expires_at_ms: u64) -> StoreResult<()> {
        self.put(&LoginItem {
            pk: login_pk(state_hash),
            sk: SK_LOGIN.to_owned(),
            expires_at_ms,
            ttl: ttl_seconds(expires_at_ms),
        })
        .await
    }

    async fn finish_login(&self, state_hash: &str) -> StoreResult<bool> {
        let taken: Option<LoginItem> = self.take(login_pk(state_hash), SK_LOGIN).await?;
        // DynamoDB deletes expired items late: an old one may still be there.
        Ok(taken.is_some_and(|item| item.expires_at_ms > self.clock.now_ms()))
    }
}
