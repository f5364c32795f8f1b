//! Log in with Discord (authorization code, `identify guilds`) and log out.
//!
//! `state` is random, kept in the store by its hash (taken once), and also in a signed cookie
//! in this browser: a callback must match both, so a replayed or planted callback fails.
//! Nothing from the callback's address is logged or echoed.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::{cookie, html, is_htmx, set_cookie, BASE};
use crate::pages;
use crate::ports::DiscordError;
use crate::session::{
    random_token, state_hash, PendingLogin, Session, SessionGuild, LOGIN_COOKIE, LOGIN_MS,
    SESSION_COOKIE, SESSION_MS,
};
use crate::Dashboard;

/// Longer than any real code or state; anything past it is refused unread.
const PARAM_MAX: usize = 512;

pub async fn start(State(d): State<Arc<Dashboard>>) -> Response {
    let state = random_token();
    let expires = d.core.clock().now_ms() + LOGIN_MS;
    if let Err(e) = d
        .core
        .store()
        .begin_login(&state_hash(&state), expires)
        .await
    {
        tracing::error!(error = %e, "could not begin a dashboard login");
        return failed("TimmyBot could not start the login just now. Try again in a moment.");
    }
    let pending = d.keys.seal_login(&PendingLogin {
        state: state.clone(),
        expires_at_ms: expires,
    });
    let mut res = Redirect::to(&d.login.authorize_url(&state)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&d, LOGIN_COOKIE, &pending, LOGIN_MS / 1000),
    );
    res
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Query(params): Query<Callback>,
) -> Response {
    let too_long = [&params.code, &params.state, &params.error]
        .into_iter()
        .flatten()
        .any(|p| p.len() > PARAM_MAX);
    if too_long {
        return refused("That login link isn't valid.");
    }
    if params.error.is_some() {
        return refused("You cancelled the login on Discord, so nothing happened.");
    }
    let (Some(code), Some(state)) = (params.code, params.state) else {
        return refused("That login link isn't valid: it has no code.");
    };
    let now = d.core.clock().now_ms();
    // This browser must be the one that started the login…
    let ours = cookie(&headers, LOGIN_COOKIE)
        .and_then(|c| d.keys.open_login(c, now))
        .is_some_and(|pending| pending.state == state);
    if !ours {
        return refused("That login was started somewhere else, or took too long.");
    }
    // …and the state works once.
    match d.core.store().finish_login(&state_hash(&state)).await {
        Ok(true) => {}
        Ok(false) => return refused("That login link was already used, or took too long."),
        Err(e) => {
            tracing::error!(error = %e, "could not finish a dashboard login");
            return failed("TimmyBot could not finish the login just now. Try again in a moment.");
        }
    }
    let who = match d.login.finish(SecretString::from(code)).await {
        Ok(who) => who,
        Err(DiscordError::Refused(why)) => {
            tracing::info!(%why, "Discord refused a dashboard login's code");
            return refused("Discord did not accept that login. Try again.");
        }
        Err(e) => {
            tracing::warn!(error = %e, "a dashboard login could not reach Discord");
            return failed(
                "Discord could not be reached to finish the login. Try again in a moment.",
            );
        }
    };
    // Only guilds the bot is in are worth listing (and keeping in the cookie).
    let bot = match d.guilds.bot_guilds().await {
        Ok(bot) => bot,
        Err(e) => {
            tracing::warn!(error = %e, "listing the bot's guilds failed");
            return failed(
                "Discord could not be reached to finish the login. Try again in a moment.",
            );
        }
    };
    let shared = who
        .guilds
        .into_iter()
        .filter(|(id, _)| bot.contains(id))
        .map(|(id, name)| SessionGuild { id, name })
        .collect();
    let session = Session::new(who.user, &who.name, shared, now);
    tracing::info!(user = %session.user, "logged in to the dashboard");
    let mut res = Redirect::to(BASE).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            &d,
            SESSION_COOKIE,
            &d.keys.seal_session(&session),
            SESSION_MS / 1000,
        ),
    );
    h.append(header::SET_COOKIE, set_cookie(&d, LOGIN_COOKIE, "", 0));
    res
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    // Logging someone out is a change too: a foreign page must not be able to.
    if let Some(session) = super::session(&d, &headers) {
        if !d.keys.csrf_ok(&session, &form.csrf) {
            return super::forbidden_csrf();
        }
    }
    let mut res = if is_htmx(&headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(BASE).into_response()
    };
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&d, SESSION_COOKIE, "", 0));
    res
}

fn refused(text: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        pages::message("Not logged in", text, None),
    )
}

fn failed(text: &str) -> Response {
    html(
        StatusCode::BAD_GATEWAY,
        pages::message("Not logged in", text, None),
    )
}
