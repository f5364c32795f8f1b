//! The sources' linked-accounts port on the accounts crate: the requester's own token for a
//! pasted Spotify playlist, and their library lists expanded with it.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use timmybot_accounts::Accounts;
use timmybot_domain::{Expanded, LibraryRef, UserId};
use timmybot_sources::LinkedAccounts;

pub struct Linked(pub Arc<Accounts>);

#[async_trait]
impl LinkedAccounts for Linked {
    async fn spotify_token(&self, user: UserId) -> Option<SecretString> {
        self.0.spotify_token(user).await
    }

    async fn expand(
        &self,
        user: UserId,
        list: &LibraryRef,
        max: usize,
    ) -> Result<Expanded, String> {
        self.0.expand(user, list, max).await.map_err(|e| {
            if e.is_users() {
                e.to_string()
            } else {
                tracing::warn!(error = %e, "expanding a library list failed");
                "Your library could not be read just now; try again in a moment.".to_owned()
            }
        })
    }
}
