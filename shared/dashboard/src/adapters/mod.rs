//! The ports' adapters: Discord's OAuth2 endpoints, and its REST API with the bot's token.

pub mod guilds;
pub mod login;

pub use guilds::RestGuilds;
pub use login::DiscordLogin;
