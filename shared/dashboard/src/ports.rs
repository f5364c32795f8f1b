//! What the dashboard needs from Discord, as ports: the OAuth2 login, and each guild
//! member's standing (checked with the bot's token on every guild request, cached briefly).

use async_trait::async_trait;
use secrecy::SecretString;

use timmybot_domain::{GuildId, RoleId, UserId};

/// Why Discord did not answer as hoped.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// The code was refused (used, expired, or for another redirect): log in again.
    #[error("Discord refused the login: {0}")]
    Refused(String),
    /// Discord could not be reached, or answered something else.
    #[error("Discord could not be reached: {0}")]
    Unreachable(String),
}

/// Who logged in, and the guilds they are in, as Discord listed them.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user: UserId,
    pub name: String,
    pub guilds: Vec<(GuildId, String)>,
}

#[async_trait]
pub trait Login: Send + Sync {
    /// Discord's authorize page for `state`, scopes `identify guilds`.
    fn authorize_url(&self, state: &str) -> String;
    /// Exchanges `code`, reads the user and their guilds, then revokes the token: nothing
    /// keeps it past this call.
    async fn finish(&self, code: SecretString) -> Result<LoggedIn, DiscordError>;
}

/// A member's roles and whether they manage the server (Manage Server, Administrator, or
/// owner): what the command core's permission rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub roles: Vec<RoleId>,
    pub manage_guild: bool,
}

#[async_trait]
pub trait Guilds: Send + Sync {
    /// `None` when `user` is not a member of `guild` (or the bot is not in it).
    async fn standing(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<Standing>, DiscordError>;
    /// The guilds the bot is in.
    async fn bot_guilds(&self) -> Result<Vec<GuildId>, DiscordError>;
}
