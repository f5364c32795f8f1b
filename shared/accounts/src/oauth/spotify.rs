//! Spotify's authorization code flow with PKCE (S256): the authorize URL, the code exchange
//! and refresh. No client secret: a PKCE client proves itself with the verifier.

use std::borrow::Cow;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use super::{grant, no_redirects, token_error, Grant, OAuthError};

pub const SCOPES: &[&str] = &[
    "playlist-read-private",
    "playlist-read-collaborative",
    "user-library-read",
    "user-read-recently-played",
    "user-top-read",
];
pub const DEFAULT_BASE: &str = "https://accounts.spotify.com";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct SpotifyOAuth {
    client: Client,
    http: reqwest::Client,
}

/// Where to send the user, and the verifier to keep (sealed) until the code comes back.
pub struct Authorize {
    pub url: url::Url,
    pub verifier: SecretString,
}

impl SpotifyOAuth {
    pub fn new(client_id: &str, base: &str) -> Result<Self, OAuthError> {
        let base = base.trim_end_matches('/');
        let bad = |e: url::ParseError| OAuthError::BadUrl(e.to_string());
        let client = BasicClient::new(ClientId::new(client_id.to_owned()))
            // Spotify wants a PKCE client's id in the form body, not in Basic auth.
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::new(format!("{base}/authorize")).map_err(bad)?)
            .set_token_uri(TokenUrl::new(format!("{base}/api/token")).map_err(bad)?);
        Ok(Self {
            client,
            http: no_redirects(),
        })
    }

    /// The authorize URL for `state` and a fresh S256 challenge.
    pub fn authorize(&self, state: &str, redirect: &str) -> Result<Authorize, OAuthError> {
        let redirect =
            RedirectUrl::new(redirect.to_owned()).map_err(|e| OAuthError::BadUrl(e.to_string()))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let (url, _) = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .set_redirect_uri(Cow::Owned(redirect))
            .url();
        Ok(Authorize {
            url,
            verifier: SecretString::from(verifier.secret().to_owned()),
        })
    }

    pub async fn exchange(
        &self,
        code: &SecretString,
        verifier: &SecretString,
        redirect: &str,
    ) -> Result<Grant, OAuthError> {
        let redirect =
            RedirectUrl::new(redirect.to_owned()).map_err(|e| OAuthError::BadUrl(e.to_string()))?;
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(grant(&token))
    }

    pub async fn refresh(&self, refresh: &SecretString) -> Result<Grant, OAuthError> {
        let token = RefreshToken::new(refresh.expose_secret().to_owned());
        let answer = self
            .client
            .exchange_refresh_token(&token)
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(grant(&answer))
    }
}
