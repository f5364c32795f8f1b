//! Stand-ins for the command core's ports where a test has no Discord to talk to.

use std::sync::Mutex;

use async_trait::async_trait;
use timmybot_commands::ports::{Messenger, SendError};
use timmybot_domain::{ChannelId, UserId};
use twilight_model::channel::message::component::Component;
use twilight_model::channel::message::Embed;

/// Keeps what the core would have sent: DMs (user, embed title) and channel posts.
#[derive(Default)]
pub struct Mailbox {
    pub dms: Mutex<Vec<(UserId, Option<String>)>>,
    pub posts: Mutex<Vec<(ChannelId, String)>>,
}

#[async_trait]
impl Messenger for Mailbox {
    async fn direct(&self, user: UserId, embed: Embed, _: Vec<Component>) -> Result<(), SendError> {
        if let Ok(mut dms) = self.dms.lock() {
            dms.push((user, embed.title));
        }
        Ok(())
    }

    async fn post(&self, channel: ChannelId, content: &str) -> Result<(), SendError> {
        if let Ok(mut posts) = self.posts.lock() {
            posts.push((channel, content.to_owned()));
        }
        Ok(())
    }
}
