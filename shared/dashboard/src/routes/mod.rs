//! The dashboard's handlers, all under [`BASE`], with the headers every answer carries.

mod assets;
mod guild;
mod login;
mod owner;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;

use crate::pages::{self, Viewer};
use crate::session::{Session, SESSION_COOKIE};
use crate::Dashboard;

pub const BASE: &str = "/dashboard";
pub const ASSETS: &str = "/dashboard/assets";

/// Scripts, styles and requests from this origin only; no inline script, no eval, no
/// framing, and forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route(BASE, get(home))
        .route("/dashboard/login", get(login::start))
        .route("/dashboard/callback", get(login::callback))
        .route("/dashboard/logout", post(login::logout))
        .route(
            "/dashboard/guilds/{guild}",
            get(guild::show).post(guild::control),
        )
        .route("/dashboard/guilds/{guild}/live", get(guild::live))
        .route("/dashboard/owner", get(owner::show).post(owner::act))
        .route("/dashboard/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(dashboard)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show one person's view; only the assets (which set their own) may be kept.
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

async fn home(State(d): State<Arc<Dashboard>>, headers: HeaderMap) -> Response {
    let Some(session) = session(&d, &headers) else {
        return html(StatusCode::OK, pages::home::login());
    };
    let mut guilds = Vec::new();
    for g in &session.guilds {
        match d.core.serves(g.id).await {
            Ok(true) => guilds.push((g.id, g.name.clone())),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading the allowlist for the dashboard failed");
                return trouble(&d, &session);
            }
        }
    }
    let csrf = d.keys.csrf(&session);
    let viewer = viewer(&d, &session, &csrf);
    html(StatusCode::OK, pages::home::guilds(&viewer, &guilds))
}

/// The request's session, if its cookie is ours and unexpired.
pub(crate) fn session(d: &Dashboard, headers: &HeaderMap) -> Option<Session> {
    let value = cookie(headers, SESSION_COOKIE)?;
    d.keys.open_session(value, d.core.clock().now_ms())
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A cookie for the dashboard's paths only, out of scripts' reach.
pub(crate) fn set_cookie(d: &Dashboard, name: &str, value: &str, max_age_s: u64) -> HeaderValue {
    let text = cookie_line(name, value, max_age_s, d.secure_cookies);
    // Our values are base64url and digits: always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Secure` when the dashboard is served over HTTPS, so the cookie never crosses plain HTTP.
fn cookie_line(name: &str, value: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={BASE}; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}")
}

pub(crate) fn viewer<'a>(d: &Dashboard, session: &'a Session, csrf: &'a str) -> Viewer<'a> {
    Viewer {
        name: &session.name,
        csrf,
        owner: d.core.is_owner(session.user),
    }
}

pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// htmx sent it (a poll or a control), so the answer is a part of the page.
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}

/// Not logged in (or the session lapsed): pages go to the login, htmx is told to go there.
pub(crate) fn to_login(headers: &HeaderMap) -> Response {
    if is_htmx(headers) {
        let mut res = StatusCode::UNAUTHORIZED.into_response();
        res.headers_mut().insert(
            HeaderName::from_static("hx-redirect"),
            HeaderValue::from_static(BASE),
        );
        return res;
    }
    Redirect::to(BASE).into_response()
}

/// The same answer for a guild that does not exist, one the bot does not serve, and one the
/// user is not in: a URL reveals nothing.
pub(crate) fn not_found(d: &Dashboard, session: &Session) -> Response {
    let csrf = d.keys.csrf(session);
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            "Not found",
            "That isn't a server you share with TimmyBot.",
            Some(&viewer(d, session, &csrf)),
        ),
    )
}

pub(crate) fn forbidden_csrf() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "This form has expired",
            "Nothing was changed. Reload the page and try again.",
            None,
        ),
    )
}

pub(crate) fn trouble(d: &Dashboard, session: &Session) -> Response {
    let csrf = d.keys.csrf(session);
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message(
            "Something went wrong",
            "TimmyBot could not read that just now. Try again in a moment.",
            Some(&viewer(d, session, &csrf)),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        let plain = cookie_line("a", "b", 60, false);
        assert_eq!(
            plain,
            "a=b; Path=/dashboard; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        assert!(cookie_line("a", "b", 60, true).ends_with("; Secure"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; timmybot_session=v1.a.b;y=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("v1.a.b"));
        assert_eq!(cookie(&headers, "timmybot"), None);
    }
}
