//! Members' standing through Discord's REST API with the bot's token (twilight-http): "Get
//! Guild Member" for membership and roles, "Get Guild" for the roles' permissions and the
//! owner. Answers are kept briefly, so a page and its polls cost Discord one call a minute.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_http::Client;

use timmybot_discord::ids::{FromTwilight, ToTwilight};
use timmybot_domain::{Clock, GuildId, RoleId, UserId};

use crate::ports::{DiscordError, Guilds, Standing};
use crate::standing::{standing, GuildRoles};

/// How long a member's standing is trusted: a kick or a lost role shows within this.
pub const MEMBER_TTL_MS: u64 = 30_000;
const GUILD_TTL_MS: u64 = 60_000;
/// Past this many entries a cache starts over, so no caller can grow it without bound.
const CACHE_MAX: usize = 10_000;
/// Discord's "Unknown Member" and "Unknown Guild".
const UNKNOWN_MEMBER: u64 = 10007;
const UNKNOWN_GUILD: u64 = 10004;

type Cache<K, V> = Mutex<HashMap<K, (u64, V)>>;

pub struct RestGuilds {
    http: Arc<Client>,
    clock: Arc<dyn Clock>,
    members: Cache<(GuildId, UserId), Option<Vec<RoleId>>>,
    guilds: Cache<GuildId, Option<GuildRoles>>,
}

impl RestGuilds {
    pub fn new(http: Arc<Client>, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            clock,
            members: Mutex::default(),
            guilds: Mutex::default(),
        }
    }

    async fn roles_of(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<Vec<RoleId>>, DiscordError> {
        let now = self.clock.now_ms();
        if let Some(hit) = fresh(&self.members, &(guild, user), now, MEMBER_TTL_MS).await {
            return Ok(hit);
        }
        let res = self
            .http
            .guild_member(guild.to_twilight(), user.to_twilight())
            .await;
        let roles = match res {
            Ok(res) => {
                let member = res.model().await.map_err(unreachable)?;
                Some(
                    member
                        .roles
                        .into_iter()
                        .map(RoleId::from_twilight)
                        .collect(),
                )
            }
            Err(e) if is_unknown(&e, UNKNOWN_MEMBER) => None,
            Err(e) => return Err(unreachable(e)),
        };
        keep(&self.members, (guild, user), now, roles.clone()).await;
        Ok(roles)
    }

    async fn guild(&self, guild: GuildId) -> Result<Option<GuildRoles>, DiscordError> {
        let now = self.clock.now_ms();
        if let Some(hit) = fresh(&self.guilds, &guild, now, GUILD_TTL_MS).await {
            return Ok(hit);
        }
        let roles = match self.http.guild(guild.to_twilight()).await {
            Ok(res) => {
                let g = res.model().await.map_err(unreachable)?;
                Some(GuildRoles {
                    owner: UserId::from_twilight(g.owner_id),
                    roles: g
                        .roles
                        .into_iter()
                        .map(|r| (RoleId::from_twilight(r.id), r.permissions))
                        .collect(),
                })
            }
            Err(e) if is_unknown(&e, UNKNOWN_GUILD) => None,
            Err(e) => return Err(unreachable(e)),
        };
        keep(&self.guilds, guild, now, roles.clone()).await;
        Ok(roles)
    }
}

#[async_trait]
impl Guilds for RestGuilds {
    async fn standing(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<Standing>, DiscordError> {
        let Some(roles) = self.roles_of(guild, user).await? else {
            return Ok(None);
        };
        let Some(of) = self.guild(guild).await? else {
            return Ok(None);
        };
        Ok(Some(standing(guild, &of, user, roles)))
    }

    async fn bot_guilds(&self) -> Result<Vec<GuildId>, DiscordError> {
        let guilds = self
            .http
            .current_user_guilds()
            .limit(200)
            .await
            .map_err(unreachable)?
            .models()
            .await
            .map_err(unreachable)?;
        Ok(guilds
            .into_iter()
            .map(|g| GuildId::from_twilight(g.id))
            .collect())
    }
}

async fn fresh<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Cache<K, V>,
    key: &K,
    now: u64,
    ttl: u64,
) -> Option<V> {
    let cache = cache.lock().await;
    let (at, value) = cache.get(key)?;
    (now.saturating_sub(*at) < ttl).then(|| value.clone())
}

async fn keep<K: std::hash::Hash + Eq, V>(cache: &Cache<K, V>, key: K, now: u64, value: V) {
    let mut cache = cache.lock().await;
    if cache.len() >= CACHE_MAX {
        cache.clear();
    }
    cache.insert(key, (now, value));
}

fn is_unknown(err: &twilight_http::Error, code: u64) -> bool {
    matches!(err.kind(), ErrorType::Response { error: ApiError::General(e), .. } if e.code == code)
}

fn unreachable(err: impl std::fmt::Display) -> DiscordError {
    DiscordError::Unreachable(err.to_string())
}
