//! An offline Discord on loopback, built to Discord's documented protocol, for the demo, the
//! tests and the benches.
//!
//! - [`gateway`]: the WebSocket gateway (identify, guilds, voice states, interactions).
//! - [`rest`]: the REST API, recording every call.
//! - [`oauth`], [`guilds`]: OAuth2 login and the user, guild and member endpoints a web
//!   dashboard reads.
//! - [`voice`], [`tls`]: the voice server (TLS WebSocket signalling and encrypted RTP) with
//!   the test CA it presents, and DAVE end-to-end encryption on every call.
//! - [`dave`]: DAVE's server side (the MLS external sender) and simulated call members.
//! - [`audio`]: tones to play, and decrypting, decoding and measuring what was heard.
//! - [`interactions`]: interaction payloads, signed as Discord signs them.
//! - [`FakeDiscord`]: all of it together.

use std::sync::Arc;
use std::time::Duration;

use crate::audio::VoiceCipher;

pub mod audio;
pub mod dave;
pub mod gateway;
pub mod guilds;
pub mod interactions;
pub mod oauth;
pub mod rest;
pub mod tls;
pub mod voice;

/// The bot token the fake accepts.
pub const TOKEN: &str = "fake-discord-bot-token";
pub use oauth::OAUTH_CLIENT_SECRET;

/// All three parts together, sharing one picture of who sits in which voice channel.
pub struct FakeDiscord {
    pub gateway: gateway::FakeGateway,
    pub rest: rest::RunningRest,
    pub voice: Arc<voice::RunningVoice>,
}

impl gateway::VoiceHost for voice::RunningVoice {
    fn endpoint(&self) -> String {
        voice::RunningVoice::endpoint(self)
    }
    fn authorize(&self, guild: u64, channel: u64, user: u64, session_id: &str, token: &str) {
        voice::RunningVoice::authorize(self, guild, channel, user, session_id, token);
    }
    fn left(&self, guild: u64, user: u64) {
        voice::RunningVoice::left(self, guild, user);
    }
}

impl FakeDiscord {
    /// The bot's user id, which is also its application id (as for Discord's bots).
    pub const BOT: u64 = crate::interactions::APPLICATION_ID;

    /// Starts the gateway, REST and voice servers on loopback, with both AEAD modes on offer
    /// and DAVE v1 on every call, as Discord runs them.
    pub async fn start(guilds: Vec<gateway::FakeGuild>) -> Self {
        Self::start_with(guilds, voice::DaveMode::default()).await
    }

    /// As [`start`](Self::start), with the voice server's DAVE as `dave` says.
    pub async fn start_with(guilds: Vec<gateway::FakeGuild>, dave: voice::DaveMode) -> Self {
        let voice = Arc::new(voice::FakeVoiceServer::start_with(&VoiceCipher::ALL, dave).await);
        let rest = rest::FakeRest::start().await;
        let bot_guilds: Vec<_> = guilds.iter().map(|g| (g.id, g.name.clone())).collect();
        rest.fake.set_bot_guilds(&bot_guilds);
        let gateway = gateway::FakeGateway::start(
            gateway::GatewayConfig {
                token: TOKEN.into(),
                bot_user: Self::BOT,
                application_id: Self::BOT,
                guilds,
                heartbeat_interval: Duration::from_millis(41_250),
            },
            voice.clone(),
        )
        .await;
        Self {
            gateway,
            rest,
            voice,
        }
    }

    /// A member joins (`Some`) or leaves (`None`) a voice channel: the gateway dispatches it,
    /// the REST voice-state lookup answers with it, and the member joins or leaves that
    /// channel's call (and its DAVE group) on the voice server.
    pub fn set_voice(&self, guild: u64, user: u64, channel: Option<u64>) {
        self.rest.fake.set_voice(guild, user, channel);
        self.gateway.set_voice(guild, user, channel);
        self.voice.set_member(guild, user, channel);
    }

    /// `user` joins `guild` with `roles`, for OAuth2 logins and the guild and member lookups
    /// ([`rest::FakeRest::add_member`]).
    pub fn add_member(
        &self,
        guild: u64,
        guild_name: &str,
        user: u64,
        username: &str,
        roles: &[u64],
    ) {
        self.rest
            .fake
            .add_member(guild, guild_name, user, username, roles);
    }

    /// The settings that point the bot here instead of Discord, `SSL_CERT_FILE` included
    /// (songbird dials the voice server over TLS and trusts the test CA through it).
    pub fn env(&self) -> Vec<(String, String)> {
        use timmybot_config::names::env;
        let mut vars = self.rest.env();
        vars.extend(
            [
                (env::DISCORD_GATEWAY_PROXY, self.gateway.url()),
                ("SSL_CERT_FILE", tls::ca_pem_path().display().to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
        );
        vars
    }
}
