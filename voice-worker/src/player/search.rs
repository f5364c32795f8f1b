//! `/search`: the lookup runs here, where yt-dlp runs, and the deferred reply becomes a menu
//! of the top results. Two minutes later the menu goes, whatever the reply says by then.

use std::sync::Arc;

use timmybot_discord::reply::sentence;
use timmybot_discord::search::{self, MENU_TTL_MS, RESULTS};
use timmybot_domain::{GuildId, ReplyTo, UserId};

use super::GuildPlayer;
use crate::ports::Notifier;

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
            tracing::warn!(guild = %self.guild, error = %e, cause = ?std::error::Error::source(&e), "showing the search results failed");
            return;
        }
        expire_menu(
            notifier,
            reply.clone(),
            std::time::Duration::from_millis(MENU_TTL_MS),
            self.guild,
        );
    }
}

/// The interaction token outlives the menu (15 minutes): takes the menu away once it has
/// expired, leaving what the message says by then ("Queued …" after a pick, or the results).
fn expire_menu(
    notifier: Arc<dyn Notifier>,
    reply: ReplyTo,
    after: std::time::Duration,
    guild: GuildId,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if let Err(e) = notifier.edit_reply_components(&reply, None, &[]).await {
            tracing::info!(%guild, error = %e, "taking an expired search menu away failed");
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use timmybot_discord::render::NowPlayingView;
    use timmybot_domain::{ApplicationId, ChannelId, InteractionToken, MessageId};
    use twilight_model::channel::message::Component;

    use super::*;
    use crate::ports::NotifyError;

    /// Each components edit: (content, how many rows).
    #[derive(Default)]
    struct Edits(Mutex<Vec<(Option<String>, usize)>>);

    #[async_trait]
    impl Notifier for Edits {
        async fn edit_reply(&self, _: &ReplyTo, _: &str) -> Result<(), NotifyError> {
            Ok(())
        }
        async fn now_playing(
            &self,
            _: ChannelId,
            _: Option<MessageId>,
            _: &NowPlayingView,
        ) -> Result<MessageId, NotifyError> {
            MessageId::new(1).map_err(|e| NotifyError(Box::new(e)))
        }
        async fn say(&self, _: ChannelId, _: &str) -> Result<(), NotifyError> {
            Ok(())
        }
        async fn edit_reply_components(
            &self,
            _: &ReplyTo,
            content: Option<&str>,
            components: &[Component],
        ) -> Result<(), NotifyError> {
            self.0
                .lock()
                .unwrap()
                .push((content.map(str::to_owned), components.len()));
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_menu_goes_when_it_expires_and_the_text_stays() {
        let edits = Arc::new(Edits::default());
        let reply = ReplyTo {
            application_id: ApplicationId::new(1).unwrap(),
            token: InteractionToken::new("t"),
        };
        let ttl = Duration::from_millis(MENU_TTL_MS);
        let task = expire_menu(edits.clone(), reply, ttl, GuildId::new(2).unwrap());
        tokio::time::sleep(ttl - Duration::from_secs(1)).await;
        assert!(edits.0.lock().unwrap().is_empty(), "still usable");
        task.await.unwrap();
        assert_eq!(*edits.0.lock().unwrap(), [(None, 0)]);
    }
}
