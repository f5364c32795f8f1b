//! [`Messenger`] over twilight-http: a DM opens the user's private channel first.

use std::sync::Arc;

use async_trait::async_trait;
use twilight_http::Client;
use twilight_model::channel::message::component::Component;
use twilight_model::channel::message::{AllowedMentions, Embed};

use timmybot_discord::ids::ToTwilight;
use timmybot_domain::{ChannelId, UserId};

use crate::ports::{Messenger, SendError};

pub struct RestMessenger {
    http: Arc<Client>,
}

impl RestMessenger {
    pub fn new(http: Arc<Client>) -> Self {
        Self { http }
    }
}

fn send_err(e: impl std::error::Error + Send + Sync + 'static) -> SendError {
    SendError(Box::new(e))
}

#[async_trait]
impl Messenger for RestMessenger {
    async fn direct(
        &self,
        user: UserId,
        embed: Embed,
        components: Vec<Component>,
    ) -> Result<(), SendError> {
        let channel = self
            .http
            .create_private_channel(user.to_twilight())
            .await
            .map_err(send_err)?
            .model()
            .await
            .map_err(send_err)?;
        self.http
            .create_message(channel.id)
            .embeds(&[embed])
            .components(&components)
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map(|_| ())
            .map_err(send_err)
    }

    async fn post(&self, channel: ChannelId, content: &str) -> Result<(), SendError> {
        self.http
            .create_message(channel.to_twilight())
            .content(content)
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map(|_| ())
            .map_err(send_err)
    }
}
