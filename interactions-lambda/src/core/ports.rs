//! What the command core needs from outside, beside the store and the bus.

use async_trait::async_trait;

use timmybot_shared::domain::{ChannelId, GuildId, UserId};

#[derive(Debug, thiserror::Error)]
#[error("could not look up the voice channel: {0}")]
pub struct LookupError(pub String);

/// Which voice channel a member sits in.
#[async_trait]
pub trait VoiceLookup: Send + Sync {
    async fn voice_channel(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<ChannelId>, LookupError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not wake the voice worker: {0}")]
pub struct WakeError(pub String);

/// Starts the voice worker when it sleeps.
#[async_trait]
pub trait WorkerWaker: Send + Sync {
    async fn wake(&self) -> Result<(), WakeError>;
}
