//! What the command core needs from outside, beside the store, the bus and the worker's
//! service (their ports live in their own crates).

use std::error::Error as StdError;

use async_trait::async_trait;

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
