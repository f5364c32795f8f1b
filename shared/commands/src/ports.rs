//! What the command core needs from outside, beside the store, the bus and the worker's
//! service (their ports live in their own crates).

use std::error::Error as StdError;

use async_trait::async_trait;

use twilight_model::channel::message::component::Component;
use twilight_model::channel::message::Embed;

use timmybot_domain::{ChannelId, GuildId, UserId};

/// Why the voice-channel lookup failed.
#[derive(Debug, thiserror::Error)]
#[error("could not look up the member's voice channel")]
pub struct LookupError(#[source] pub Box<dyn StdError + Send + Sync>);

/// Which voice channel a member sits in.
#[async_trait]
pub trait VoiceLookup: Send + Sync {
    async fn voice_channel(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<ChannelId>, LookupError>;
}

/// Why a message the core sends on its own (not as an interaction reply) did not go out.
#[derive(Debug, thiserror::Error)]
#[error("a Discord message could not be sent")]
pub struct SendError(#[source] pub Box<dyn StdError + Send + Sync>);

/// Messages beside the interaction's reply: the owners' DMs about access requests, and the
/// answer in the requester's channel.
#[async_trait]
pub trait Messenger: Send + Sync {
    /// A direct message to `user`.
    async fn direct(
        &self,
        user: UserId,
        embed: Embed,
        components: Vec<Component>,
    ) -> Result<(), SendError>;
    /// A plain message in `channel`; mentions in it never ping.
    async fn post(&self, channel: ChannelId, content: &str) -> Result<(), SendError>;
}
