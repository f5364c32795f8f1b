//! Discord's users, guilds, roles and members, as a web dashboard reads them: who logged in
//! (`/users/@me`), which guilds they are in and what they may do there
//! (`/users/@me/guilds`), and the bot's own guild and member lookups.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use twilight_model::guild::Permissions;

use crate::oauth::{caller, Caller};
use crate::rest::{error, unauthorized, FakeRest};

/// Who owns a guild until `set_guild_owner` says otherwise: the owner the gateway's
/// GUILD_CREATE names.
const DEFAULT_OWNER: u64 = 1;
const ADMINISTRATOR: u64 = 1 << 3;
/// When the fake's members joined, as GUILD_CREATE has it.
const JOINED_AT: &str = "2026-01-01T00:00:00.000000+00:00";

/// The people and guilds the fake knows. The @everyone role has its guild's id, as on
/// Discord.
#[derive(Default)]
pub(crate) struct Directory {
    /// User id -> username: who can log in on the authorize page, and whom members name.
    users: BTreeMap<u64, String>,
    names: BTreeMap<u64, String>,
    /// Guild -> owner, where not [`DEFAULT_OWNER`].
    owners: BTreeMap<u64, u64>,
    /// Guild -> role -> permission bits.
    roles: BTreeMap<u64, BTreeMap<u64, u64>>,
    /// (guild, user) -> the member's roles, @everyone left implicit as Discord does.
    members: BTreeMap<(u64, u64), Vec<u64>>,
    bot_guilds: BTreeSet<u64>,
}

impl Directory {
    pub(crate) fn username(&self, user: u64) -> Option<&str> {
        self.users.get(&user).map(String::as_str)
    }

    /// Every user, by id.
    pub(crate) fn users(&self) -> impl Iterator<Item = (u64, &str)> {
        self.users.iter().map(|(id, name)| (*id, name.as_str()))
    }

    fn name(&self, guild: u64) -> String {
        self.names
            .get(&guild)
            .cloned()
            .unwrap_or_else(|| format!("Guild {guild}"))
    }

    fn owner(&self, guild: u64) -> u64 {
        self.owners.get(&guild).copied().unwrap_or(DEFAULT_OWNER)
    }

    /// The guild's roles, @everyone first, then by id: (id, permissions).
    fn roles(&self, guild: u64) -> Vec<(u64, u64)> {
        let roles = self.roles.get(&guild);
        let everyone = roles.and_then(|r| r.get(&guild)).copied().unwrap_or(0);
        let others = roles
            .into_iter()
            .flatten()
            .filter(|(id, _)| **id != guild)
            .map(|(id, bits)| (*id, *bits));
        std::iter::once((guild, everyone)).chain(others).collect()
    }

    /// The user's guild-wide permissions, as Discord computes them: @everyone's and the
    /// member's roles' together, and everything for the owner or an administrator.
    fn permissions(&self, guild: u64, user: u64) -> u64 {
        let all = Permissions::all().bits();
        if self.owner(guild) == user {
            return all;
        }
        let roles = self.roles.get(&guild);
        let bits_of = |role: &u64| roles.and_then(|r| r.get(role)).copied().unwrap_or(0);
        let bits = self
            .members
            .get(&(guild, user))
            .into_iter()
            .flatten()
            .fold(bits_of(&guild), |acc, role| acc | bits_of(role));
        if bits & ADMINISTRATOR != 0 {
            all
        } else {
            bits
        }
    }

    fn user_guild(&self, guild: u64, user: u64) -> serde_json::Value {
        serde_json::json!({
            "id": guild.to_string(), "name": self.name(guild), "icon": null, "banner": null,
            "owner": self.owner(guild) == user,
            "permissions": self.permissions(guild, user).to_string(),
            "features": [],
        })
    }
}

impl FakeRest {
    /// A user who can log in on the authorize page, in no guild yet.
    pub fn add_user(&self, user: u64, username: &str) {
        self.lock()
            .directory
            .users
            .insert(user, username.to_owned());
    }

    /// Makes `user` a member of `guild` with `roles` (roles not set yet get no permissions),
    /// naming both. The bot's guild lookups see the guild only if it is among
    /// [`set_bot_guilds`](Self::set_bot_guilds), as the bot sees only guilds it is in.
    pub fn add_member(
        &self,
        guild: u64,
        guild_name: &str,
        user: u64,
        username: &str,
        roles: &[u64],
    ) {
        let mut inner = self.lock();
        let d = &mut inner.directory;
        d.users.insert(user, username.to_owned());
        d.names.insert(guild, guild_name.to_owned());
        let guild_roles = d.roles.entry(guild).or_default();
        for role in roles {
            guild_roles.entry(*role).or_insert(0);
        }
        d.members.insert((guild, user), roles.to_vec());
    }

    /// `user` leaves `guild`; they can still log in.
    pub fn remove_member(&self, guild: u64, user: u64) {
        self.lock().directory.members.remove(&(guild, user));
    }

    /// Gives `role` of `guild` these permission bits; `role == guild` is @everyone.
    pub fn set_role(&self, guild: u64, role: u64, permissions: u64) {
        self.lock()
            .directory
            .roles
            .entry(guild)
            .or_default()
            .insert(role, permissions);
    }

    pub fn set_guild_owner(&self, guild: u64, owner: u64) {
        self.lock().directory.owners.insert(guild, owner);
    }

    /// The guilds the bot is in, replacing any set before.
    pub fn set_bot_guilds(&self, guilds: &[(u64, String)]) {
        let mut inner = self.lock();
        let d = &mut inner.directory;
        d.bot_guilds = guilds.iter().map(|(id, _)| *id).collect();
        for (id, name) in guilds {
            d.names.insert(*id, name.clone());
        }
    }
}

pub(crate) fn routes() -> Router<FakeRest> {
    Router::new()
        .route("/api/v10/users/@me", get(current_user))
        .route("/api/v10/users/@me/guilds", get(current_user_guilds))
        .route("/api/v10/guilds/{guild}", get(guild))
        .route("/api/v10/guilds/{guild}/members/{user}", get(guild_member))
}

/// Answers `value` once it parses as twilight-model's `T`, so that a field Discord always
/// sends and this leaves out fails here rather than in the client.
fn checked<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Response {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(_) => Json(value).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 0, &e.to_string()),
    }
}

fn user(id: u64, username: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(), "username": username, "discriminator": "0",
        "global_name": username, "avatar": null,
    })
}

async fn current_user(State(fake): State<FakeRest>, headers: HeaderMap) -> Response {
    let me = match caller(&fake, &headers) {
        Caller::Bot => serde_json::json!({
            "id": crate::FakeDiscord::BOT.to_string(), "username": "TimmyBot",
            "discriminator": "0", "avatar": null, "bot": true, "global_name": null,
            "flags": 0, "mfa_enabled": false, "verified": true,
        }),
        Caller::User(id) => {
            let inner = fake.lock();
            let mut me = user(id, inner.directory.username(id).unwrap_or_default());
            // What the `identify` scope adds (no `email`: that needs its own scope).
            for (k, v) in [
                ("mfa_enabled", serde_json::json!(false)),
                ("locale", serde_json::json!("en-US")),
                ("flags", serde_json::json!(0)),
                ("public_flags", serde_json::json!(0)),
                ("premium_type", serde_json::json!(0)),
                ("banner", serde_json::Value::Null),
                ("accent_color", serde_json::Value::Null),
            ] {
                me[k] = v;
            }
            me
        }
        Caller::Nobody => return unauthorized(),
    };
    checked::<twilight_model::user::CurrentUser>(me)
}

/// The caller's guilds by id: a user's from their memberships, the bot's from
/// `set_bot_guilds`.
async fn current_user_guilds(State(fake): State<FakeRest>, headers: HeaderMap) -> Response {
    let who = match caller(&fake, &headers) {
        Caller::Bot => None,
        Caller::User(id) => Some(id),
        Caller::Nobody => return unauthorized(),
    };
    let inner = fake.lock();
    let d = &inner.directory;
    let guilds: Vec<_> = match who {
        None => d
            .bot_guilds
            .iter()
            .map(|g| d.user_guild(*g, crate::FakeDiscord::BOT))
            .collect(),
        Some(id) => d
            .members
            .keys()
            .filter(|(_, user)| *user == id)
            .map(|(g, _)| d.user_guild(*g, id))
            .collect(),
    };
    checked::<Vec<twilight_model::user::CurrentUserGuild>>(serde_json::json!(guilds))
}

/// The guild endpoints answer the bot alone, and only for a guild it is in.
fn bot_only_in_its_guild(headers: &HeaderMap, d: &Directory, guild: u64) -> Option<Response> {
    if !crate::rest::authorized(headers) {
        return Some(unauthorized());
    }
    (!d.bot_guilds.contains(&guild)).then(|| error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"))
}

async fn guild(
    State(fake): State<FakeRest>,
    headers: HeaderMap,
    Path(guild): Path<u64>,
) -> Response {
    let inner = fake.lock();
    let d = &inner.directory;
    if let Some(refused) = bot_only_in_its_guild(&headers, d, guild) {
        return refused;
    }
    let roles: Vec<_> = d
        .roles(guild)
        .into_iter()
        .enumerate()
        .map(|(position, (id, bits))| {
            let name = if id == guild {
                "@everyone".to_owned()
            } else {
                format!("Role {id}")
            };
            serde_json::json!({
                "id": id.to_string(), "name": name, "color": 0,
                "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
                "hoist": false, "icon": null, "unicode_emoji": null, "managed": false,
                "mentionable": false, "permissions": bits.to_string(), "position": position,
                "flags": 0,
            })
        })
        .collect();
    // Get Guild's answer: no channels, members or voice states (those come with GUILD_CREATE).
    checked::<twilight_model::guild::Guild>(serde_json::json!({
        "id": guild.to_string(),
        "name": d.name(guild),
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "banner": null,
        "description": null,
        "owner_id": d.owner(guild).to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": roles,
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "public_updates_channel_id": null,
        "safety_alerts_channel_id": null,
        "vanity_url_code": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": false,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "max_members": 500_000,
        "max_video_channel_users": 25,
    }))
}

async fn guild_member(
    State(fake): State<FakeRest>,
    headers: HeaderMap,
    Path((guild, member)): Path<(u64, u64)>,
) -> Response {
    let inner = fake.lock();
    let d = &inner.directory;
    if let Some(refused) = bot_only_in_its_guild(&headers, d, guild) {
        return refused;
    }
    let Some(roles) = d.members.get(&(guild, member)) else {
        return error(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    };
    let roles: Vec<_> = roles.iter().map(u64::to_string).collect();
    checked::<twilight_model::guild::Member>(serde_json::json!({
        "user": user(member, d.username(member).unwrap_or_default()),
        "nick": null, "avatar": null, "banner": null, "roles": roles,
        "joined_at": JOINED_AT, "premium_since": null, "deaf": false, "mute": false,
        "flags": 0, "pending": false, "communication_disabled_until": null,
    }))
}
