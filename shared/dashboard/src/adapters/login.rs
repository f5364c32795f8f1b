//! Discord's OAuth2 authorization code grant, on the `oauth2` crate: the authorize URL, the
//! code exchange (client secret in HTTP Basic), `GET /users/@me` and `/users/@me/guilds`,
//! then the token's revocation. No token, code or response body reaches a log line.

use std::time::Duration;

use async_trait::async_trait;
use oauth2::basic::{BasicClient, BasicRequestTokenError};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use timmybot_config::DashboardSettings;
use timmybot_domain::{ApplicationId, GuildId, UserId};

use crate::ports::{DiscordError, LoggedIn, Login};

/// Where Discord sends the browser back.
pub const CALLBACK_PATH: &str = "/dashboard/callback";
const TIMEOUT: Duration = Duration::from_secs(10);

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct DiscordLogin {
    client: Client,
    http: reqwest::Client,
    api: String,
    client_id: String,
    client_secret: SecretString,
    revoke_url: String,
}

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
}

#[derive(Deserialize)]
struct PartialGuild {
    id: String,
    name: String,
}

impl DiscordLogin {
    pub fn new(app: ApplicationId, settings: &DashboardSettings) -> Result<Self, url::ParseError> {
        // reqwest's rustls needs the process's one provider chosen before its first client.
        timmybot_config::tls::install_crypto_provider();
        let web = &settings.web_url;
        let client = BasicClient::new(ClientId::new(app.to_string()))
            .set_client_secret(ClientSecret::new(
                settings.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::new(format!("{web}/oauth2/authorize"))?)
            .set_token_uri(TokenUrl::new(format!("{web}/api/v10/oauth2/token"))?)
            .set_redirect_uri(RedirectUrl::new(format!(
                "{}{CALLBACK_PATH}",
                settings.public_url
            ))?);
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A token endpoint must not bounce the request, and its secret, elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Ok(Self {
            client,
            http,
            api: format!("{web}/api/v10"),
            client_id: app.to_string(),
            client_secret: settings.client_secret.clone(),
            revoke_url: format!("{web}/api/v10/oauth2/token/revoke"),
        })
    }

    /// Discord's token revocation (RFC 7009). Sent by hand: the `oauth2` crate refuses a
    /// non-https revocation URL, and the tests' Discord is plain HTTP on loopback.
    async fn revoke(&self, access: &SecretString) {
        let sent = self
            .http
            .post(&self.revoke_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[
                ("token", access.expose_secret()),
                ("token_type_hint", "access_token"),
            ])
            .send()
            .await;
        if !sent.is_ok_and(|r| r.status().is_success()) {
            tracing::warn!("could not revoke a dashboard login's Discord token");
        }
    }

    /// A Discord API read with the user's token, through the accounts' one bounded JSON
    /// helper (its errors name no token).
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        token: &SecretString,
    ) -> Result<T, DiscordError> {
        let req = self.http.get(format!("{}{path}", self.api));
        timmybot_accounts::http::json(req, Some(token))
            .await
            .map_err(|e| DiscordError::Unreachable(format!("{path}: {e}")))
    }
}

#[async_trait]
impl Login for DiscordLogin {
    fn authorize_url(&self, state: &str) -> String {
        let state = state.to_owned();
        let (url, _) = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new("identify".into()))
            .add_scope(Scope::new("guilds".into()))
            // Someone already logged in to Discord is not asked again.
            .add_extra_param("prompt", "none")
            .url();
        url.into()
    }

    async fn finish(&self, code: SecretString) -> Result<LoggedIn, DiscordError> {
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                BasicRequestTokenError::ServerResponse(r) => {
                    DiscordError::Refused(r.error().to_string())
                }
                _ => DiscordError::Unreachable("the token endpoint".into()),
            })?;
        let access = SecretString::from(token.access_token().secret().to_owned());
        let read = async {
            let user: User = self.get("/users/@me", &access).await?;
            let guilds: Vec<PartialGuild> = self.get("/users/@me/guilds", &access).await?;
            Ok::<_, DiscordError>((user, guilds))
        }
        .await;
        // The token has done its job either way.
        self.revoke(&access).await;
        let (user, guilds) = read?;
        let user_id = user
            .id
            .parse()
            .ok()
            .and_then(|id| UserId::new(id).ok())
            .ok_or_else(|| DiscordError::Unreachable("/users/@me: no user id".into()))?;
        Ok(LoggedIn {
            user: user_id,
            name: user.global_name.unwrap_or(user.username),
            guilds: guilds
                .into_iter()
                .filter_map(|g| Some((GuildId::parse(&g.id).ok()?, g.name)))
                .collect(),
        })
    }
}
