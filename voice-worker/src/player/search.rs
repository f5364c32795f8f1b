//! `/search`: the lookup runs here, where yt-dlp runs, and the deferred reply becomes a menu
//! of the top results. Two minutes later the menu goes, whatever the reply says by then.

use std::sync::Arc;

use timmybot_discord::reply::sentence;
use timmybot_discord::search::{self, MENU_TTL_MS, RESULTS};
use timmybot_domain::{ReplyTo, UserId};

use super::GuildPlayer;

impl GuildPlayer {
    pub(super) async fn search(&self, reply: Option<&ReplyTo>, query: &str, requester: UserId) {
        let found = self.deps.sources.search(query, RESULTS, requester).await;
        let Some(reply) = reply else {
            return;
        };
        let results = match found {
            Ok(results) if !results.is_empty() => results,
            Ok(_) => {
                self.edit_reply(reply, "🔎 Nothing was found for that.")
                    .await;
                return;
            }
            Err(e) => {
                self.edit_reply(reply, &format!("❌ {}", sentence(&e.to_string())))
                    .await;
                return;
            }
        };
        let expires_at = self.now().saturating_add(MENU_TTL_MS);
        let (text, menu) = search::menu(query, &results, expires_at);
        let notifier = Arc::clone(&self.deps.notifier);
        if let Err(e) = notifier
            .edit_reply_components(reply, Some(&text), &menu)
            .await
        {
            tracing::warn!(guild = %self.guild, error = %e, "showing the search results failed");
            return;
        }
        // The interaction token outlives the menu (15 minutes): take the menu away when it
        // expires, leaving what the message says.
        let reply = reply.clone();
        let guild = self.guild;
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(MENU_TTL_MS)).await;
            if let Err(e) = notifier.edit_reply_components(&reply, None, &[]).await {
                tracing::info!(%guild, error = %e, "taking an expired search menu away failed");
            }
        });
    }
}
