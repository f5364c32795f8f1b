//! Discord through twilight: [`Notifier`] over twilight-http, and [`Presence`] from the
//! gateway's voice states.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use timmybot_shared::domain::{
    ChannelId, GuildId, GuildQueue, MessageId, NowPlaying, ReplyTo, UserId,
};
use twilight_http::Client;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::gateway::event::Event;
use twilight_model::id::Id;

use crate::ports::{Notifier, NotifyError, NowPlayingCard, Presence};

pub struct TwilightNotifier {
    http: Client,
}

impl TwilightNotifier {
    pub fn new(http: Client) -> Self {
        Self { http }
    }
}

fn rest_err(e: impl std::fmt::Display) -> NotifyError {
    NotifyError(e.to_string())
}

/// The card as the shared renderer draws it: a queue holding just what the card shows.
fn embed(card: &NowPlayingCard) -> Option<twilight_model::channel::message::Embed> {
    let queue = GuildQueue::from_parts(
        card.up_next.iter().cloned().collect(),
        Some(NowPlaying {
            track: card.track.clone(),
            started_at_ms: 0,
            offset_ms: card.position_ms,
            paused: card.paused,
        }),
        card.loop_mode,
        timmybot_shared::domain::Volume::parse(u32::from(card.volume_percent)).ok()?,
    )
    .ok()?;
    timmybot_shared::render::now_playing_embed(&queue, 0)
}

/// The bot's twilight-http client; `proxy` (`DISCORD_REST_PROXY`) sends it over plain HTTP
/// to a stand-in instead of Discord. The worker, `timmybot serve` and the CLI all use it.
pub fn rest_client(token: &str, proxy: Option<&str>) -> Client {
    timmybot_shared::tls::install_crypto_provider();
    let mut http = Client::builder().token(token.to_owned());
    if let Some(proxy) = proxy {
        http = http.proxy(proxy.to_owned(), true);
    }
    http.build()
}

#[async_trait]
impl Notifier for TwilightNotifier {
    async fn edit_reply(&self, reply: &ReplyTo, content: &str) -> Result<(), NotifyError> {
        let app: u64 = reply.application_id.parse().map_err(rest_err)?;
        let app = Id::new_checked(app).ok_or_else(|| rest_err("application id is 0"))?;
        self.http
            .interaction(app)
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
        card: &NowPlayingCard,
    ) -> Result<MessageId, NotifyError> {
        let embeds: Vec<_> = embed(card).into_iter().collect();
        let controls = [timmybot_shared::render::now_playing_controls(card.paused)];
        let ch = Id::new(channel.get());
        if let Some(msg) = existing {
            let edited = self
                .http
                .update_message(ch, Id::new(msg.get()))
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
        MessageId::new(created.id.get()).map_err(rest_err)
    }

    async fn say(&self, channel: ChannelId, content: &str) -> Result<(), NotifyError> {
        self.http
            .create_message(Id::new(channel.get()))
            .content(content)
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .map(|_| ())
            .map_err(rest_err)
    }
}

/// One guild's voice channel members: user → (channel, is a bot).
type Seats = HashMap<UserId, (ChannelId, bool)>;

/// Who is in which voice channel, kept from GUILD_CREATE and VOICE_STATE_UPDATE.
#[derive(Default)]
pub struct VoiceStates {
    map: RwLock<HashMap<GuildId, Seats>>,
}

impl VoiceStates {
    /// The voice channel `user` sits in, as the gateway last said.
    pub fn channel_of(&self, guild: GuildId, user: UserId) -> Option<ChannelId> {
        let map = self.map.read().ok()?;
        map.get(&guild)?.get(&user).map(|(channel, _)| *channel)
    }

    pub fn update(&self, event: &Event) {
        let Ok(mut map) = self.map.write() else {
            return;
        };
        match event {
            Event::GuildCreate(g) => {
                if let twilight_model::gateway::payload::incoming::GuildCreate::Available(g) =
                    g.as_ref()
                {
                    let Ok(guild) = GuildId::new(g.id.get()) else {
                        return;
                    };
                    let bots: HashMap<u64, bool> = g
                        .members
                        .iter()
                        .map(|m| (m.user.id.get(), m.user.bot))
                        .collect();
                    let entry = map.entry(guild).or_default();
                    entry.clear();
                    for vs in &g.voice_states {
                        if let (Some(ch), Ok(user)) = (vs.channel_id, UserId::new(vs.user_id.get()))
                        {
                            if let Ok(ch) = ChannelId::new(ch.get()) {
                                let bot = bots.get(&vs.user_id.get()).copied().unwrap_or(false);
                                entry.insert(user, (ch, bot));
                            }
                        }
                    }
                }
            }
            Event::VoiceStateUpdate(vs) => {
                let (Some(g), Ok(user)) = (vs.guild_id, UserId::new(vs.user_id.get())) else {
                    return;
                };
                let Ok(guild) = GuildId::new(g.get()) else {
                    return;
                };
                let bot = vs.member.as_ref().is_some_and(|m| m.user.bot);
                let entry = map.entry(guild).or_default();
                match vs.channel_id.and_then(|c| ChannelId::new(c.get()).ok()) {
                    Some(ch) => {
                        entry.insert(user, (ch, bot));
                    }
                    None => {
                        entry.remove(&user);
                    }
                }
            }
            Event::GuildDelete(g) => {
                if let Ok(guild) = GuildId::new(g.id.get()) {
                    map.remove(&guild);
                }
            }
            _ => {}
        }
    }
}

impl Presence for VoiceStates {
    fn listeners(&self, guild: GuildId, channel: ChannelId) -> Vec<UserId> {
        let Ok(map) = self.map.read() else {
            return Vec::new();
        };
        let mut out: Vec<UserId> = map
            .get(&guild)
            .map(|users| {
                users
                    .iter()
                    .filter(|(_, (ch, bot))| *ch == channel && !bot)
                    .map(|(u, _)| *u)
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::gateway::payload::incoming::VoiceStateUpdate;

    fn voice_state(user: u64, channel: Option<u64>, bot: bool) -> Event {
        let member = serde_json::json!({
            "deaf": false, "mute": false, "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "roles": [], "flags": 0,
            "user": {"id": user.to_string(), "username": "u", "discriminator": "0",
                     "avatar": null, "bot": bot}
        });
        let state = serde_json::json!({
            "channel_id": channel.map(|c| c.to_string()), "guild_id": "10",
            "user_id": user.to_string(), "member": member,
            "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
            "self_video": false, "session_id": "s", "suppress": false,
            "request_to_speak_timestamp": null
        });
        Event::VoiceStateUpdate(Box::new(VoiceStateUpdate(
            serde_json::from_value(state).unwrap(),
        )))
    }

    #[test]
    fn listeners_follow_voice_state_updates_and_skip_bots() {
        let states = VoiceStates::default();
        let (g, a, b) = (
            GuildId::new(10).unwrap(),
            ChannelId::new(1).unwrap(),
            ChannelId::new(2).unwrap(),
        );
        states.update(&voice_state(100, Some(1), false));
        states.update(&voice_state(101, Some(1), false));
        states.update(&voice_state(102, Some(1), true));
        assert_eq!(states.listeners(g, a).len(), 2, "the bot is not a listener");
        states.update(&voice_state(100, Some(2), false));
        assert_eq!(states.listeners(g, a), [UserId::new(101).unwrap()]);
        assert_eq!(states.listeners(g, b), [UserId::new(100).unwrap()]);
        states.update(&voice_state(101, None, false));
        assert!(states.listeners(g, a).is_empty(), "left voice");
    }
}
