//! The bot's one Discord REST client.

use std::time::Duration;

use secrecy::ExposeSecret;
use timmybot_config::DiscordSettings;
use twilight_http::Client;

/// For calls inside an interaction's 3 s reply budget.
pub const INTERACTION_TIMEOUT: Duration = Duration::from_secs(2);
/// For everything else (twilight's own default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The bot's twilight-http client, giving up on a call after `timeout`. With
/// `DISCORD_REST_PROXY` set it speaks plain HTTP to that stand-in instead of Discord.
pub fn client(discord: &DiscordSettings, timeout: Duration) -> Client {
    timmybot_config::tls::install_crypto_provider();
    let mut http = Client::builder()
        .token(discord.token.expose_secret().to_owned())
        .timeout(timeout);
    if let Some(proxy) = &discord.rest_proxy {
        http = http.proxy(proxy.clone(), true);
    }
    http.build()
}
