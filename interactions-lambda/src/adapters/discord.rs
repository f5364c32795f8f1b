//! Discord's REST API through twilight-http: "Get User Voice State".

use async_trait::async_trait;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_http::Client;
use twilight_model::id::Id;

use crate::core::ports::{LookupError, VoiceLookup};
use timmybot_shared::domain::{ChannelId, GuildId, UserId};

/// Discord's "Unknown Voice State": the member is in no voice channel.
const UNKNOWN_VOICE_STATE: u64 = 10065;

pub struct RestVoiceLookup {
    http: Client,
}

impl RestVoiceLookup {
    pub fn new(http: Client) -> Self {
        Self { http }
    }
}

#[async_trait]
impl VoiceLookup for RestVoiceLookup {
    async fn voice_channel(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<ChannelId>, LookupError> {
        let res = self
            .http
            .user_voice_state(Id::new(guild.get()), Id::new(user.get()))
            .await;
        let state = match res {
            Ok(res) => res.model().await.map_err(|e| LookupError(e.to_string()))?,
            Err(err) => {
                if let ErrorType::Response { status, error, .. } = err.kind() {
                    let unknown =
                        matches!(error, ApiError::General(e) if e.code == UNKNOWN_VOICE_STATE);
                    if unknown || status.get() == 404 {
                        return Ok(None);
                    }
                }
                return Err(LookupError(err.to_string()));
            }
        };
        Ok(state.channel_id.and_then(|c| ChannelId::new(c.get()).ok()))
    }
}
