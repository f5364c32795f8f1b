//! Linked accounts (the vault, the OAuth clients, the platforms' URLs) and the dashboard's login.

use super::*;

/// Base URLs of the platforms linked accounts talk to. The defaults are the real services;
/// the overrides exist for the tests' local stand-ins only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrls {
    pub google_oauth: String,
    pub youtube_api: String,
    pub spotify_accounts: String,
    pub spotify_api: String,
    pub musicbrainz: String,
    pub listenbrainz: String,
    pub lrclib: String,
}

impl ServiceUrls {
    pub const REAL: [(&'static str, &'static str); 7] = [
        (env::GOOGLE_OAUTH_URL, "https://oauth2.googleapis.com"),
        (env::YOUTUBE_API_URL, "https://www.googleapis.com"),
        (env::SPOTIFY_ACCOUNTS_URL, "https://accounts.spotify.com"),
        (env::SPOTIFY_API_URL, "https://api.spotify.com"),
        (env::MUSICBRAINZ_URL, "https://musicbrainz.org"),
        (env::LISTENBRAINZ_URL, "https://api.listenbrainz.org"),
        (env::LRCLIB_URL, "https://lrclib.net"),
    ];

    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let [google_oauth, youtube_api, spotify_accounts, spotify_api, musicbrainz, listenbrainz, lrclib] =
            Self::REAL.map(|(name, real)| {
                let value = src.get(name).unwrap_or_else(|| real.to_owned());
                let ok = url::Url::parse(&value)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
                ok.then(|| value.trim_end_matches('/').to_owned())
                    .ok_or((name, value))
            });
        let check = |r: Result<String, (&'static str, String)>| {
            r.map_err(|(var, got)| ConfigError::invalid(var, "an http(s) base URL", &got))
        };
        Ok(Self {
            google_oauth: check(google_oauth)?,
            youtube_api: check(youtube_api)?,
            spotify_accounts: check(spotify_accounts)?,
            spotify_api: check(spotify_api)?,
            musicbrainz: check(musicbrainz)?,
            listenbrainz: check(listenbrainz)?,
            lrclib: check(lrclib)?,
        })
    }
}

/// Linked accounts: the vault's keys, the two OAuth clients, and where callbacks land.
#[derive(Debug, Clone)]
pub struct AccountsSettings {
    /// `token_vault_key`; `None` in `serve` until it makes its key file.
    pub vault_key: Option<SecretString>,
    /// `TOKEN_VAULT_KEYS`: older keys that still open what they sealed.
    pub vault_older: Option<SecretString>,
    /// `YOUTUBE_CLIENT_ID` with `YOUTUBE_CLIENT_SECRET`.
    pub youtube: Option<(String, SecretString)>,
    /// `SPOTIFY_CLIENT_ID`: a PKCE client needs no secret.
    pub spotify_client_id: Option<String>,
    /// `PUBLIC_URL`, without a trailing slash.
    pub public_url: Option<String>,
    pub urls: ServiceUrls,
}

impl AccountsSettings {
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let youtube = src
            .pair(env::YOUTUBE_CLIENT_ID, env::YOUTUBE_CLIENT_SECRET)?
            .map(|(id, secret)| (id, SecretString::from(secret)));
        let public_url = src
            .get(env::PUBLIC_URL)
            .map(|raw| {
                url::Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                    .map(|_| raw.trim_end_matches('/').to_owned())
                    .ok_or_else(|| ConfigError::invalid(env::PUBLIC_URL, "an http(s) URL", &raw))
            })
            .transpose()?;
        Ok(Self {
            vault_key: src.secret(secret::TOKEN_VAULT_KEY),
            vault_older: src.secret(env::TOKEN_VAULT_KEYS),
            youtube,
            spotify_client_id: src.get(env::SPOTIFY_CLIENT_ID),
            public_url,
            urls: ServiceUrls::read(src)?,
        })
    }
}

/// The web dashboard: on when the application's OAuth2 client secret is set.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    /// `DISCORD_CLIENT_SECRET`; the client id is the application id.
    pub client_secret: SecretString,
    /// `PUBLIC_URL`: the login's redirect is `{public_url}/dashboard/callback`.
    pub public_url: String,
    /// `DISCORD_WEB_URL`, default `https://discord.com`; tests point it at the fake Discord.
    pub web_url: String,
}

impl DashboardSettings {
    pub const DISCORD: &'static str = "https://discord.com";

    /// `None` when `DISCORD_CLIENT_SECRET` is unset: the dashboard is off.
    pub fn read(src: &Source, accounts: &AccountsSettings) -> Result<Option<Self>, ConfigError> {
        let Some(client_secret) = src.secret(env::DISCORD_CLIENT_SECRET) else {
            return Ok(None);
        };
        let public_url = accounts.public_url.clone().ok_or(ConfigError::Needed {
            var: env::PUBLIC_URL,
            because: "DISCORD_CLIENT_SECRET turns the dashboard on, and Discord sends \
                      people back to PUBLIC_URL/dashboard/callback after they log in",
        })?;
        let web_url = match src.get(env::DISCORD_WEB_URL) {
            None => Self::DISCORD.to_owned(),
            Some(raw) => url::Url::parse(&raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .map(|_| raw.trim_end_matches('/').to_owned())
                .ok_or_else(|| {
                    ConfigError::invalid(env::DISCORD_WEB_URL, "an http(s) URL", &raw)
                })?,
        };
        Ok(Some(Self {
            client_secret,
            public_url,
            web_url,
        }))
    }
}
