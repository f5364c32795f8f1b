//! [`Notifier`] over twilight-http: interaction replies, the now-playing message, notices.

use async_trait::async_trait;
use std::future::IntoFuture;
use std::time::Duration;
use timmybot_discord::ids::{FromTwilight, ToTwilight};
use timmybot_discord::render::{self, NowPlayingView};
use timmybot_domain::{ChannelId, MessageId, ReplyTo};

use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
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

/// Discord's "Unknown Message".
const UNKNOWN_MESSAGE: u64 = 10008;
/// Waits before editing an interaction's reply again.
const REPLY_RETRIES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(900),
];

/// Whether Discord did not know the message: a reply edited before Discord has taken the
/// deferral it answers (the intent can reach a fast worker first).
fn unknown_message(e: &twilight_http::Error) -> bool {
    matches!(
        e.kind(),
        ErrorType::Response { error: ApiError::General(g), .. } if g.code == UNKNOWN_MESSAGE
    )
}

/// Runs `edit`, again after a pause while Discord does not know the reply yet.
async fn edit_reply_with_retry<F, Fut, T>(mut edit: F) -> Result<(), NotifyError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, twilight_http::Error>>,
{
    for pause in REPLY_RETRIES {
        match edit().await {
            Err(e) if unknown_message(&e) => tokio::time::sleep(pause).await,
            other => return other.map(|_| ()).map_err(rest_err),
        }
    }
    edit().await.map(|_| ()).map_err(rest_err)
}

#[async_trait]
impl Notifier for TwilightNotifier {
    async fn edit_reply(&self, reply: &ReplyTo, content: &str) -> Result<(), NotifyError> {
        let client = self.http.interaction(reply.application_id.to_twilight());
        let mentions = AllowedMentions::default();
        edit_reply_with_retry(|| {
            client
                .update_response(reply.token.expose())
                .content(Some(content))
                .allowed_mentions(Some(&mentions))
                .into_future()
        })
        .await
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
        edit_reply_with_retry(|| {
            let update = client
                .update_response(reply.token.expose())
                .components(Some(components))
                .allowed_mentions(Some(&mentions));
            match content {
                Some(text) => update.content(Some(text)),
                None => update,
            }
            .into_future()
        })
        .await
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
