//! [`Presence`] from the gateway: who sits in which voice channel, kept from GUILD_CREATE
//! and VOICE_STATE_UPDATE.

use std::collections::HashMap;
use std::sync::RwLock;

use timmybot_discord::ids::FromTwilight;
use timmybot_domain::{ChannelId, GuildId, UserId};
use twilight_model::gateway::event::Event;

use crate::ports::Presence;

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

    /// How many guilds the cache holds.
    pub fn guilds(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
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
                    let bots: HashMap<u64, bool> = g
                        .members
                        .iter()
                        .map(|m| (m.user.id.get(), m.user.bot))
                        .collect();
                    let entry = map.entry(GuildId::from_twilight(g.id)).or_default();
                    entry.clear();
                    for vs in &g.voice_states {
                        if let Some(ch) = vs.channel_id {
                            let bot = bots.get(&vs.user_id.get()).copied().unwrap_or(false);
                            entry.insert(
                                UserId::from_twilight(vs.user_id),
                                (ChannelId::from_twilight(ch), bot),
                            );
                        }
                    }
                }
            }
            Event::VoiceStateUpdate(vs) => {
                let Some(guild) = vs.guild_id.map(GuildId::from_twilight) else {
                    return;
                };
                let user = UserId::from_twilight(vs.user_id);
                let bot = vs.member.as_ref().is_some_and(|m| m.user.bot);
                let entry = map.entry(guild).or_default();
                match vs.channel_id.map(ChannelId::from_twilight) {
                    Some(ch) => {
                        entry.insert(user, (ch, bot));
                    }
                    None => {
                        entry.remove(&user);
                    }
                }
            }
            Event::GuildDelete(g) => {
                map.remove(&GuildId::from_twilight(g.id));
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
        assert_eq!(states.guilds(), 1);
    }
}
