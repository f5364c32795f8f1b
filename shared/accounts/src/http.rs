//! The one HTTP helper every client here uses: a bounded JSON read with the platforms'
//! errors mapped to what a user can be told. Tokens go in headers only, never in a URL, so
//! an error that names the URL names no secret.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

/// The most any of these APIs' answers may be: a 50-item page is tens of kilobytes.
pub const BODY_MAX: usize = 2 * 1024 * 1024;
/// Every call is bounded; Discord's 3 s limit is the caller's business (it sets a deadline).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// MusicBrainz and ListenBrainz ask every client to say who it is.
pub const USER_AGENT: &str = concat!(
    "TimmyBot/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted Discord music bot; https://github.com/timmybot/timmybot)"
);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The user's token was refused: it expired early or was revoked.
    #[error("the platform refused the token (401)")]
    Unauthorized,
    #[error("the platform refused the request (403{})", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Forbidden { reason: Option<String> },
    #[error("the platform does not have that (404)")]
    NotFound,
    /// Rate limited or out of quota; `quota` when the platform says the quota is spent.
    #[error("the platform is rate limiting us (429{})", if *quota { ", quota exceeded" } else { "" })]
    RateLimited {
        retry_after_s: Option<u64>,
        quota: bool,
    },
    #[error("the platform answered {0}")]
    Status(u16),
    #[error("the platform's answer is larger than {BODY_MAX} bytes")]
    TooLarge,
    #[error("the platform's answer is not what its documentation describes: {0}")]
    Shape(String),
    /// Connection refused, timed out, TLS: never the URL's query (no secrets go there anyway).
    #[error("the platform could not be reached: {0}")]
    Unreachable(String),
}

impl HttpError {
    pub fn from_reqwest(err: &reqwest::Error) -> Self {
        let what = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        Self::Unreachable(what.into())
    }

    /// The service is down or slow, rather than refusing us: worth falling back.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_) | Self::Status(500..=599) | Self::RateLimited { .. }
        )
    }
}

/// One client for every platform: timeouts and the User-Agent set once.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(USER_AGENT)
        .build()
        // Only a broken TLS backend fails here, which no request could survive either.
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Reads the body, at most [`BODY_MAX`] bytes, whatever the status.
pub async fn body(mut resp: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    if resp.content_length().is_some_and(|n| n > BODY_MAX as u64) {
        return Err(HttpError::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| HttpError::from_reqwest(&e))?
    {
        if buf.len() + chunk.len() > BODY_MAX {
            return Err(HttpError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Sends `req` (with `bearer`, if any) and reads a JSON answer, mapping the platforms' errors.
pub async fn json<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
    bearer: Option<&SecretString>,
) -> Result<T, HttpError> {
    let req = match bearer {
        Some(token) => req.bearer_auth(token.expose_secret()),
        None => req,
    };
    let resp = req.send().await.map_err(|e| HttpError::from_reqwest(&e))?;
    let status = resp.status().as_u16();
    let retry_after_s = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let bytes = body(resp).await?;
    match status {
        200..=299 => serde_json::from_slice(&bytes).map_err(|e| HttpError::Shape(e.to_string())),
        401 => Err(HttpError::Unauthorized),
        403 => {
            let reason = error_reason(&bytes);
            // YouTube says a spent quota with 403 quotaExceeded; treat it as the rate limit it is.
            if reason
                .as_deref()
                .is_some_and(|r| r.contains("quotaExceeded") || r.contains("rateLimitExceeded"))
            {
                Err(HttpError::RateLimited {
                    retry_after_s,
                    quota: true,
                })
            } else {
                Err(HttpError::Forbidden { reason })
            }
        }
        404 => Err(HttpError::NotFound),
        429 => Err(HttpError::RateLimited {
            retry_after_s,
            quota: error_reason(&bytes).is_some_and(|r| r.contains("QUOTA_EXCEEDED")),
        }),
        s => Err(HttpError::Status(s)),
    }
}

/// The short reason in an error body: Google's `error.errors[0].reason`, Spotify's
/// `error.reason` or `error.message`, or an OAuth `error`. Bounded: it may reach a log.
fn error_reason(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let e = v.get("error")?;
    let reason = e
        .pointer("/errors/0/reason")
        .or_else(|| e.get("reason"))
        .or_else(|| e.get("message"))
        .or(Some(e))
        .and_then(|r| r.as_str())?;
    Some(reason.chars().take(80).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_come_from_each_platforms_error_shape() {
        let google = br#"{"error":{"code":403,"errors":[{"reason":"quotaExceeded"}]}}"#;
        assert_eq!(error_reason(google).as_deref(), Some("quotaExceeded"));
        let spotify = br#"{"error":{"status":429,"message":"x","reason":"QUOTA_EXCEEDED"}}"#;
        assert_eq!(error_reason(spotify).as_deref(), Some("QUOTA_EXCEEDED"));
        let oauth = br#"{"error":"invalid_grant"}"#;
        assert_eq!(error_reason(oauth).as_deref(), Some("invalid_grant"));
        assert_eq!(error_reason(b"not json"), None);
    }
}
