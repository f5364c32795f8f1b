//! TimmyBot's web dashboard, served by the same Router as the interactions endpoint (on
//! Lambda under the HTTP API, and by `timmybot serve --listen`), so it costs nothing while
//! nobody looks at it.
//!
//! - [`session`]: the signed session and login cookies, and the CSRF token.
//! - [`ports`] and [`adapters`]: Discord's OAuth2 login, and members' standing read with the
//!   bot's token.
//! - [`standing`]: a member's permissions from their roles, as Discord computes them.
//! - [`control`]: a form's button into the command it stands for.
//! - `pages`: the HTML (maud), free of I/O; `routes`: the handlers.
//!
//! Every control runs through [`timmybot_commands::Core::act`]: the slash commands' rate
//! limit, allowlist gate and permission rules, not a second code path.

pub mod adapters;
pub mod control;
mod pages;
pub mod ports;
mod routes;
pub mod session;
pub mod standing;

use std::sync::Arc;

use timmybot_commands::Core;
use timmybot_config::DashboardSettings;
use timmybot_domain::Clock;

pub use routes::{router, ASSETS, BASE};

/// Why the dashboard could not be set up from its settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("a dashboard address is not a valid URL: {0}")]
    Url(#[from] url::ParseError),
    #[error(transparent)]
    Key(#[from] session::KeyError),
}

/// Everything the dashboard's handlers share.
///
/// Its clock is the command core's (`core.clock()`), so sessions and commands agree on time.
pub struct Dashboard {
    pub core: Arc<Core>,
    pub keys: session::Keys,
    pub login: Arc<dyn ports::Login>,
    pub guilds: Arc<dyn ports::Guilds>,
    /// Cookies carry `Secure` when the public URL is https.
    pub secure_cookies: bool,
}

impl Dashboard {
    /// The dashboard on Discord itself: the OAuth2 client from `settings`, members' standing
    /// through the bot's REST client, cookies signed under a key derived from `secret`.
    pub fn new(
        core: Arc<Core>,
        settings: &DashboardSettings,
        application: timmybot_domain::ApplicationId,
        secret: &[u8],
        http: Arc<twilight_http::Client>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SetupError> {
        Ok(Self {
            core,
            keys: session::Keys::derive(secret)?,
            login: Arc::new(adapters::DiscordLogin::new(application, settings)?),
            guilds: Arc::new(adapters::RestGuilds::new(http, clock)),
            secure_cookies: settings.public_url.starts_with("https://"),
        })
    }
}
