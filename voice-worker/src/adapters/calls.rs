//! songbird's calls, one per guild, each sending its voice joins through the gateway shard
//! that holds the guild.
//!
//! songbird's own twilight manager (`Songbird::twilight`) computes a guild's shard as
//! `(guild_id >> 22) % senders.len()`. A worker that runs only part of the shards has fewer
//! senders than the bot has shards, so it would send an op 4 through the wrong shard (or
//! none). songbird stays as it is: each `Call` gets a generic shard handle
//! ([`songbird::shards::VoiceUpdate`]) picked by the guild's real shard, and this module does
//! the little the manager did (one call per guild, and routing VOICE_STATE_UPDATE and
//! VOICE_SERVER_UPDATE to it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use songbird::error::{JoinError, JoinResult};
use songbird::shards::{GenericSharder, Shard, VoiceUpdate};
use songbird::Call;
use timmybot_domain::{ChannelId, GuildId};
use tokio::sync::Mutex as AsyncMutex;
use twilight_gateway::{Event, MessageSender};
use twilight_model::gateway::payload::outgoing::UpdateVoiceState;

/// The command senders of the shards this worker runs, keyed by their real shard ids, out
/// of `count` shards in all.
pub struct ShardSenders {
    count: u32,
    senders: HashMap<u32, MessageSender>,
}

impl ShardSenders {
    pub fn new(count: u32, senders: HashMap<u32, MessageSender>) -> Self {
        Self { count, senders }
    }

    /// The bot's whole shard count, which decides a guild's shard.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The handle for `guild`'s shard; `None` if this worker does not run it.
    pub fn for_guild(&self, guild: GuildId) -> Option<Arc<dyn VoiceUpdate + Send + Sync>> {
        self.get_shard(u64::from(guild.shard(self.count)))
    }
}

impl GenericSharder for ShardSenders {
    fn get_shard(&self, shard_id: u64) -> Option<Arc<dyn VoiceUpdate + Send + Sync>> {
        let id = u32::try_from(shard_id).ok()?;
        let sender = self.senders.get(&id)?.clone();
        Some(Arc::new(ShardHandle(sender)))
    }
}

/// One shard's command channel, as songbird's `Call` sends through it.
struct ShardHandle(MessageSender);

#[async_trait]
impl VoiceUpdate for ShardHandle {
    async fn update_voice_state(
        &self,
        guild_id: songbird::id::GuildId,
        channel_id: Option<songbird::id::ChannelId>,
        self_deaf: bool,
        self_mute: bool,
    ) -> JoinResult<()> {
        let channel = channel_id.map(|c| twilight_model::id::Id::from(c.0));
        let op4 = UpdateVoiceState::new(guild_id.0, channel, self_deaf, self_mute);
        self.0.command(&op4)?;
        Ok(())
    }
}

type SharedCall = Arc<AsyncMutex<Call>>;

/// The worker's voice calls, one per guild.
pub struct Calls {
    calls: Mutex<HashMap<GuildId, SharedCall>>,
    shards: ShardSenders,
    bot: songbird::id::UserId,
    config: songbird::Config,
}

impl Calls {
    /// Calls for the bot user `bot` (its application id), joining through `shards`.
    pub fn new(shards: ShardSenders, bot: std::num::NonZeroU64, config: songbird::Config) -> Self {
        // songbird's manager gives its calls one thread that drops finished tracks off the
        // mixer; without one, each call's mixer would start its own.
        let config = match config.disposer {
            Some(_) => config,
            None => config.disposer(songbird::driver::DisposalThread::run()),
        };
        Self {
            calls: Mutex::new(HashMap::new()),
            shards,
            bot: songbird::id::UserId::from(bot),
            config,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GuildId, SharedCall>> {
        // The map is only ever inserted into or removed from; a panic elsewhere cannot
        // leave it half-changed.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, guild: GuildId) -> Option<SharedCall> {
        self.lock().get(&guild).cloned()
    }

    /// The guild's call, made on first use with the handle of the guild's own shard.
    fn get_or_insert(&self, guild: GuildId) -> JoinResult<SharedCall> {
        let mut calls = self.lock();
        if let Some(call) = calls.get(&guild) {
            return Ok(call.clone());
        }
        let handle = self.shards.for_guild(guild).ok_or(JoinError::NoSender)?;
        let call = Call::from_config(
            songbird::id::GuildId::from(guild.non_zero()),
            Shard::Generic(handle),
            self.bot,
            self.config.clone(),
        );
        let call = Arc::new(AsyncMutex::new(call));
        calls.insert(guild, call.clone());
        Ok(call)
    }

    /// Joins (or moves to) `channel`; done when the voice connection is up. `prepare` sets
    /// the call up first (its event handlers, its bitrate), under the same lock.
    pub async fn join(
        &self,
        guild: GuildId,
        channel: ChannelId,
        prepare: impl FnOnce(&mut Call) + Send,
    ) -> JoinResult<SharedCall> {
        let call = self.get_or_insert(guild)?;
        // The gateway's answers reach the call through `process`, which needs its lock:
        // hold it only to send the op 4, not while waiting for the connection.
        let joining = {
            let mut handler = call.lock().await;
            prepare(&mut handler);
            handler
                .join(songbird::id::ChannelId::from(channel.non_zero()))
                .await
        };
        joining?.await.map(|()| call)
    }

    /// Forgets the guild's call and leaves its channel.
    pub async fn remove(&self, guild: GuildId) -> JoinResult<()> {
        // Forgotten first: a call whose leave fails must not be found by the next join.
        let call = self.lock().remove(&guild).ok_or(JoinError::NoCall)?;
        let left = call.lock().await.leave().await;
        left
    }

    /// Hands the gateway's voice events to their calls. Run it on the gateway's task, never
    /// on one that waits for a join.
    pub async fn process(&self, event: &Event) {
        match event {
            Event::VoiceServerUpdate(v) => {
                let Some(call) = self.get(GuildId::from(v.guild_id.into_nonzero())) else {
                    return;
                };
                if let Some(endpoint) = &v.endpoint {
                    call.lock()
                        .await
                        .update_server(endpoint.clone(), v.token.clone());
                }
            }
            Event::VoiceStateUpdate(v) => {
                // Only the bot's own voice state moves its calls.
                if v.0.user_id.into_nonzero() != self.bot.0 {
                    return;
                }
                let Some(guild) = v.0.guild_id.map(|g| GuildId::from(g.into_nonzero())) else {
                    return;
                };
                if let Some(call) = self.get(guild) {
                    call.lock()
                        .await
                        .update_state(v.0.session_id.clone(), v.0.channel_id);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_gateway::{ConfigBuilder, Intents, ShardId};

    /// Unconnected twilight shards: their senders queue commands for the tests to read.
    fn shard(id: u32, count: u32) -> twilight_gateway::Shard {
        timmybot_config::tls::install_crypto_provider();
        let config = ConfigBuilder::new("token".into(), Intents::empty()).build();
        twilight_gateway::Shard::with_config(ShardId::new(id, count), config)
    }

    #[tokio::test]
    async fn a_guild_is_joined_through_its_own_shard_on_a_partial_range() {
        // Shards 2 and 3 of 4, as worker 1 of 2 runs them.
        let (two, three) = (shard(2, 4), shard(3, 4));
        let senders = HashMap::from([(2, two.sender()), (3, three.sender())]);
        let shards = ShardSenders::new(4, senders);
        // Shard 3 of 4; songbird's manager would have used 3 % 2 = shard 1, which is not here.
        let g = GuildId::new(3 << 22).unwrap();
        assert!(shards.for_guild(g).is_some());
        assert!(
            shards.for_guild(GuildId::new(1 << 22).unwrap()).is_none(),
            "shard 1 belongs to the other worker"
        );
        assert!(shards.get_shard(3).is_some() && shards.get_shard(1).is_none());
    }

    #[tokio::test]
    async fn a_guild_of_another_workers_shard_is_refused_without_a_call() {
        let two = shard(2, 4);
        let calls = Calls::new(
            ShardSenders::new(4, HashMap::from([(2, two.sender())])),
            std::num::NonZeroU64::new(1).unwrap(),
            songbird::Config::default(),
        );
        let elsewhere = GuildId::new(1 << 22).unwrap();
        let refused = calls
            .join(elsewhere, ChannelId::new(9).unwrap(), |_| {})
            .await
            .err();
        assert!(matches!(refused, Some(JoinError::NoSender)), "{refused:?}");
        assert!(calls.get(elsewhere).is_none(), "no call is left behind");
    }
}
