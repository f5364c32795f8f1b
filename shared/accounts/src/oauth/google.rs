//! Google's device authorization grant for `youtube.readonly` ("TVs and Limited Input
//! devices" client): start, one poll, refresh, revoke.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointNotSet, EndpointSet,
    RefreshToken, Scope, StandardDeviceAuthorizationResponse, TokenUrl,
};
use oauth2::{DeviceCodeErrorResponse, DeviceCodeErrorResponseType};
use secrecy::{ExposeSecret, SecretString};

use super::{bounded, grant, no_redirects, token_error, Grant, OAuthError};

pub const SCOPE: &str = "https://www.googleapis.com/auth/youtube.readonly";
pub const DEFAULT_BASE: &str = "https://oauth2.googleapis.com";
/// RFC 8628's default when the server names no interval.
const INTERVAL_DEFAULT: Duration = Duration::from_secs(5);

type Client = BasicClient<EndpointNotSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub struct GoogleOAuth {
    client: Client,
    http: reqwest::Client,
    token_url: String,
    revoke_url: String,
    client_id: String,
    client_secret: SecretString,
}

/// What the user is shown to approve the link.
pub struct DeviceStart {
    pub device_code: SecretString,
    pub user_code: String,
    pub verification_url: String,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// One token request's answer.
#[derive(Debug)]
pub enum DevicePoll {
    Linked(Grant),
    /// The user has not approved yet.
    Pending,
    /// Asked too often: wait 5 s longer between requests from now on (RFC 8628 §3.5).
    SlowDown,
    Denied,
    /// The code's 30 minutes ran out.
    Expired,
    InvalidGrant,
}

impl GoogleOAuth {
    pub fn new(
        client_id: &str,
        client_secret: SecretString,
        base: &str,
    ) -> Result<Self, OAuthError> {
        let base = base.trim_end_matches('/');
        let url = |path: &str| format!("{base}{path}");
        let bad = |e: url::ParseError| OAuthError::BadUrl(e.to_string());
        let client = BasicClient::new(ClientId::new(client_id.to_owned()))
            // Google documents the client's id and secret as form fields.
            .set_auth_type(AuthType::RequestBody)
            .set_client_secret(ClientSecret::new(client_secret.expose_secret().to_owned()))
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(url("/device/code")).map_err(bad)?,
            )
            .set_token_uri(TokenUrl::new(url("/token")).map_err(bad)?);
        Ok(Self {
            client,
            http: no_redirects(),
            token_url: url("/token"),
            revoke_url: url("/revoke"),
            client_id: client_id.to_owned(),
            client_secret,
        })
    }

    /// Asks Google for a device code and the code the user types.
    pub async fn start(&self) -> Result<DeviceStart, OAuthError> {
        let details: StandardDeviceAuthorizationResponse = self
            .client
            .exchange_device_code()
            .add_scope(Scope::new(SCOPE.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let interval = details.interval();
        Ok(DeviceStart {
            device_code: SecretString::from(details.device_code().secret().to_owned()),
            user_code: bounded(details.user_code().secret()),
            verification_url: details.verification_uri().to_string(),
            expires_in: details.expires_in(),
            interval: if interval.is_zero() {
                INTERVAL_DEFAULT
            } else {
                interval
            },
        })
    }

    /// Exactly one token request. `oauth2`'s device-token request polls in a loop, sleeping
    /// between tries; a Lambda answering a button press must not, so this one request is
    /// sent here, with `oauth2`'s own response types.
    pub async fn poll_once(&self, device_code: &SecretString) -> Result<DevicePoll, OAuthError> {
        let resp = self
            .http
            .post(&self.token_url)
            .form(&[
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("device_code", device_code.expose_secret()),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ])
            .send()
            .await
            .map_err(|_| OAuthError::Unreachable)?;
        let ok = resp.status().is_success();
        let body = crate::http::body(resp)
            .await
            .map_err(|_| OAuthError::Unreachable)?;
        if ok {
            let token: oauth2::basic::BasicTokenResponse =
                serde_json::from_slice(&body).map_err(|_| OAuthError::Shape)?;
            return Ok(DevicePoll::Linked(grant(&token)));
        }
        let err: DeviceCodeErrorResponse =
            serde_json::from_slice(&body).map_err(|_| OAuthError::Shape)?;
        Ok(match err.error() {
            DeviceCodeErrorResponseType::AuthorizationPending => DevicePoll::Pending,
            DeviceCodeErrorResponseType::SlowDown => DevicePoll::SlowDown,
            DeviceCodeErrorResponseType::AccessDenied => DevicePoll::Denied,
            DeviceCodeErrorResponseType::ExpiredToken => DevicePoll::Expired,
            DeviceCodeErrorResponseType::Basic(b) => match b {
                oauth2::basic::BasicErrorResponseType::InvalidGrant => DevicePoll::InvalidGrant,
                oauth2::basic::BasicErrorResponseType::InvalidClient
                | oauth2::basic::BasicErrorResponseType::UnauthorizedClient => {
                    return Err(OAuthError::InvalidClient)
                }
                other => return Err(OAuthError::Refused(bounded(other.as_ref()))),
            },
        })
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

    /// Revokes the grant at Google (revoking the refresh token revokes its access tokens):
    /// `POST /revoke` with the token as a form field, as Google documents it. Sent here rather
    /// than through `oauth2`, which refuses a revocation URL that is not https, and the tests'
    /// stand-in is plain http on loopback.
    pub async fn revoke(&self, token: &SecretString) -> Result<(), OAuthError> {
        let resp = self
            .http
            .post(&self.revoke_url)
            .form(&[("token", token.expose_secret())])
            .send()
            .await
            .map_err(|_| OAuthError::Unreachable)?;
        if resp.status().is_success() {
            return Ok(());
        }
        let body = crate::http::body(resp)
            .await
            .map_err(|_| OAuthError::Unreachable)?;
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(bounded))
            .unwrap_or_else(|| "unknown".into());
        Err(OAuthError::Refused(code))
    }
}
