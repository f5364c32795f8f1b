//! Discord's REST API through twilight-http: "Get User Voice State".

use std::sync::Arc;

use async_trait::async_trait;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_http::Client;

use timmybot_discord::ids::{FromTwilight, ToTwilight};
use timmybot_domain::{ChannelId, GuildId, UserId};

use crate::ports::{LookupError, VoiceLookup};

/// Discord's "Unknown Voice State": the member is in no voice channel.
const UNKNOWN_VOICE_STATE: u64 = 10065;

pub struct RestVoiceLookup {
    http: Arc<Client>,
}

impl RestVoiceLookup {
    pub fn new(http: Arc<Client>) -> Self {
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
            .user_voice_state(guild.to_twilight(), user.to_twilight())
            .await;
        let state = match res {
            Ok(res) => res.model().await.map_err(|e| LookupError(Box::new(e)))?,
            Err(err) => {
                if let ErrorType::Response { status, error, .. } = err.kind() {
                    let unknown =
                        matches!(error, ApiError::General(e) if e.code == UNKNOWN_VOICE_STATE);
                    if unknown || status.get() == 404 {
                        return Ok(None);
                    }
                }
                return Err(LookupError(Box::new(err)));
            }
        };
        Ok(state.channel_id.map(ChannelId::from_twilight))
    }
}
