//! [`Notifier`] over twilight-http: interaction replies, the now-playing message, notices.

use async_trait::async_trait;
use timmybot_discord::ids::{FromTwilight, ToTwilight};
use timmybot_discord::render::{self, NowPlayingView};
use timmybot_domain::{ChannelId, MessageId, ReplyTo};
use twilight_http::Client;
use twilight_model::channel::message::{AllowedMentions, Component};

use crate::ports::{Notifier, NotifyError};

pub struct TwilightNotifier {
    http: Client,
}

impl TwilightNotifier {
    pub fn new(http: Client) -> Self {
        Self { http }
    }
}

fn rest_err(e: impl std::error::Error + Send + Sync + 'static) -> NotifyError {
    NotifyError(Box::new(e))
}

#[async_trait]
impl Notifier for TwilightNotifier {
    async fn edit_reply(&self, reply: &ReplyTo, content: &str) -> Result<(), NotifyError> {
        self.http
            .interaction(reply.application_id.to_twilight())
            .update_response(reply.token.expose())
            .content(Some(content))
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map(|_| ())
            .map_err(rest_err)
    }

    async fn now_playing(
        &self,
        channel: ChannelId,
        existing: Option<MessageId>,
        view: &NowPlayingView,
    ) -> Result<MessageId, NotifyError> {
        let embeds = [render::now_playing_embed(view)];
        let controls = render::now_playing_controls(view.paused);
        let ch = channel.to_twilight();
        if let Some(msg) = existing {
            let edited = self
                .http
                .update_message(ch, msg.to_twilight())
                .embeds(Some(&embeds))
                .components(Some(&controls))
                .await;
            if edited.is_ok() {
                return Ok(msg);
            }
            // Deleted or too old to find: post a fresh one below.
        }
        let created = self
            .http
            .create_message(ch)
            .embeds(&embeds)
            .components(&controls)
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map_err(rest_err)?
            .model()
            .await
            .map_err(rest_err)?;
        Ok(MessageId::from_twilight(created.id))
    }

    async fn edit_reply_components(
        &self,
        reply: &ReplyTo,
        content: Option<&str>,
        components: &[Component],
    ) -> Result<(), NotifyError> {
        let client = self.http.interaction(reply.application_id.to_twilight());
        let mentions = AllowedMentions::default();
        let update = client
            .update_response(reply.token.expose())
            .components(Some(components))
            .allowed_mentions(Some(&mentions));
        let update = match content {
            Some(text) => update.content(Some(text)),
            None => update,
        };
        update.await.map(|_| ()).map_err(rest_err)
    }

    async fn say(&self, channel: ChannelId, content: &str) -> Result<(), NotifyError> {
        self.http
            .create_message(channel.to_twilight())
            .content(content)
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map(|_| ())
            .map_err(rest_err)
    }
}
