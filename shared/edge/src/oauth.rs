//! `GET /oauth/spotify/callback`: where Spotify sends a user back after they approve the
//! link. It checks `state`, exchanges the code and answers a small page. Nothing the request
//! carries is echoed into the page or logged: the address holds the code.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use timmybot_accounts::AccountError;

use crate::routes::App;

/// Longer than any real callback's parameters; anything past it is refused unread.
const PARAM_MAX: usize = 1024;

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn spotify_callback(
    State(app): State<Arc<App>>,
    Query(params): Query<Callback>,
) -> Response {
    let Some(accounts) = app.core.accounts() else {
        // Not 404: the route is served, the feature is off.
        return page(
            StatusCode::NOT_IMPLEMENTED,
            "Linking Spotify isn't set up on this bot.",
        );
    };
    let too_long = [&params.code, &params.state, &params.error]
        .into_iter()
        .flatten()
        .any(|p| p.len() > PARAM_MAX);
    if too_long {
        return page(
            StatusCode::BAD_REQUEST,
            "That link isn't valid. Run /auth-spotify again in Discord.",
        );
    }
    if params.error.is_some() {
        // The user pressed Cancel; the pending link expires on its own.
        return page(
            StatusCode::OK,
            "You declined, so nothing was linked. You can close this tab.",
        );
    }
    let (Some(code), Some(state)) = (params.code, params.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "That link isn't valid: it has no code. Run /auth-spotify again in Discord.",
        );
    };
    match accounts
        .linker()
        .spotify_finish(None, &SecretString::from(code), &state)
        .await
    {
        Ok(_) => page(
            StatusCode::OK,
            "✅ Spotify is linked. You can close this tab and go back to Discord: try /my-playlists.",
        ),
        Err(e @ AccountError::NotConfigured(_)) => {
            page(StatusCode::NOT_IMPLEMENTED, &e.to_string())
        }
        Err(e) if e.is_users() => page(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "finishing a Spotify link failed");
            page(
                StatusCode::BAD_GATEWAY,
                "Spotify could not be reached to finish the link. Run /auth-spotify again in a moment.",
            )
        }
    }
}

fn page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>TimmyBot</title></head><body style=\"font-family:sans-serif;max-width:32rem;\
         margin:3rem auto;padding:0 1rem\"><h1>TimmyBot</h1><p>{}</p></body></html>",
        escape_html(message)
    );
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // No scripts, no outside resources, and the address (which holds the code) never leaves
    // in a Referer.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            super::escape_html("<b a='1'>&"),
            "&lt;b a=&#39;1&#39;&gt;&amp;"
        );
    }
}
