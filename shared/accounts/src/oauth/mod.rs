//! The two OAuth flows users link with, on the `oauth2` crate: Google's device authorization
//! grant (`youtube.readonly`) and Spotify's authorization code with PKCE (S256).
//!
//! Every error here names what happened and never carries a token, code or verifier: the
//! platforms' answers are mapped to [`OAuthError`] without their bodies.

pub mod google;
pub mod spotify;

use std::time::Duration;

use oauth2::basic::{BasicErrorResponseType, BasicTokenResponse};
use oauth2::{HttpClientError, RequestTokenError, StandardErrorResponse, TokenResponse};
use secrecy::SecretString;

pub use google::{DevicePoll, DeviceStart, GoogleOAuth};
pub use spotify::SpotifyOAuth;

/// What a token endpoint granted.
pub struct Grant {
    pub access: SecretString,
    /// Absent on most refreshes: the old refresh token stays valid.
    pub refresh: Option<SecretString>,
    pub expires_in: Duration,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The refresh token or code is dead: the user must link again.
    #[error("the platform no longer accepts this link (invalid_grant)")]
    InvalidGrant,
    /// The app's client id or secret is wrong: the operator's to fix.
    #[error("the platform refused the bot's OAuth client (check its client id and secret)")]
    InvalidClient,
    #[error("the platform refused the request: {0}")]
    Refused(String),
    #[error("the platform could not be reached")]
    Unreachable,
    #[error("the platform's answer is not what its documentation describes")]
    Shape,
    #[error("a configured OAuth address is not a valid URL: {0}")]
    BadUrl(String),
}

/// No redirects: `oauth2` asks for this, so a token endpoint cannot bounce a request (and its
/// client secret) elsewhere.
pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(crate::http::TIMEOUT)
        .user_agent(crate::http::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

pub(crate) fn grant(token: &BasicTokenResponse) -> Grant {
    Grant {
        access: SecretString::from(token.access_token().secret().to_owned()),
        refresh: token
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned())),
        // Google and Spotify always send it; an hour is both platforms' usual lifetime.
        expires_in: token.expires_in().unwrap_or(Duration::from_secs(3600)),
        scopes: token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

pub(crate) fn token_error(
    err: RequestTokenError<
        HttpClientError<reqwest::Error>,
        StandardErrorResponse<BasicErrorResponseType>,
    >,
) -> OAuthError {
    match err {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant,
            BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
                OAuthError::InvalidClient
            }
            other => OAuthError::Refused(bounded(other.as_ref())),
        },
        RequestTokenError::Request(_) => OAuthError::Unreachable,
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => OAuthError::Shape,
    }
}

/// An error code from a platform may reach a log line: keep it short and printable.
pub(crate) fn bounded(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}
