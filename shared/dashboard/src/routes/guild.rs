//! A guild's page, its polled `#live` part, and its controls. Every request is checked
//! against the session and, through Discord, the user's membership of the guild.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};

use timmybot_commands::permissions::Member;
use timmybot_domain::GuildId;

use super::{html, is_htmx, not_found, session, to_login, trouble, viewer};
use crate::control::{self, ControlForm};
use crate::pages::guild::{self as page, GuildView};
use crate::session::Session;
use crate::Dashboard;

/// Recent plays shown under the queue.
const HISTORY_SHOWN: usize = 10;

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// Who is asking about which guild, once both are checked.
struct Access {
    session: Session,
    guild: GuildId,
    name: String,
    member: Member,
}

/// The session, a real guild id, a guild the bot serves, and Discord's word that the user is
/// a member now (cached briefly): each failure answers the same "not found".
async fn access(d: &Dashboard, headers: &HeaderMap, raw: &str) -> Result<Access, Response> {
    let session = session(d, headers).ok_or_else(|| to_login(headers))?;
    let Ok(guild) = GuildId::parse(raw) else {
        return Err(not_found(d, &session));
    };
    match d.core.serves(guild).await {
        Ok(true) => {}
        Ok(false) => return Err(not_found(d, &session)),
        Err(e) => {
            tracing::error!(error = %e, "reading the allowlist for the dashboard failed");
            return Err(trouble(d, &session));
        }
    }
    let standing = match d.guilds.standing(guild, session.user).await {
        Ok(Some(standing)) => standing,
        Ok(None) => return Err(not_found(d, &session)),
        Err(e) => {
            tracing::warn!(error = %e, %guild, "checking a dashboard member with Discord failed");
            return Err(trouble(d, &session));
        }
    };
    let name = session
        .guilds
        .iter()
        .find(|g| g.id == guild)
        .map_or_else(|| format!("Server {guild}"), |g| g.name.clone());
    let member = Member {
        user: session.user,
        roles: standing.roles,
        manage_guild: standing.manage_guild,
    };
    Ok(Access {
        session,
        guild,
        name,
        member,
    })
}

fn page_number(raw: Option<&str>) -> usize {
    raw.and_then(|p| p.parse().ok()).unwrap_or(1).max(1)
}

/// The whole page.
pub async fn show(
    State(d): State<Arc<Dashboard>>,
    Path(guild): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    read(&d, &guild, q, &headers, false).await
}

/// `#live` alone: what the page polls.
pub async fn live(
    State(d): State<Arc<Dashboard>>,
    Path(guild): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    read(&d, &guild, q, &headers, true).await
}

async fn read(
    d: &Dashboard,
    guild: &str,
    q: PageQuery,
    headers: &HeaderMap,
    part: bool,
) -> Response {
    match access(d, headers, guild).await {
        Ok(a) => render(d, &a, page_number(q.page.as_deref()), None, part).await,
        Err(res) => res,
    }
}

pub async fn control(
    State(d): State<Arc<Dashboard>>,
    Path(guild): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ControlForm>,
) -> Response {
    let a = match access(&d, &headers, &guild).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    if !d.keys.csrf_ok(&a.session, &form.csrf) {
        return super::forbidden_csrf();
    }
    let said = match control::command(&form) {
        Ok(command) => {
            let (response, handled) = d.core.act(a.guild, a.member.clone(), command).await;
            tracing::info!(command = handled.name, failed = handled.failed, guild = %a.guild, "dashboard control");
            said(&response)
        }
        Err(why) => why,
    };
    let page = page_number(form.page.as_deref());
    render(&d, &a, page, Some(&said), is_htmx(&headers)).await
}

async fn render(
    d: &Dashboard,
    a: &Access,
    page: usize,
    said: Option<&str>,
    part: bool,
) -> Response {
    let store = d.core.store();
    // The poll shows no history: it reads the guild's item alone.
    let history = async {
        match part {
            true => Ok(Vec::new()),
            false => store.recent_plays(a.guild, HISTORY_SHOWN).await,
        }
    };
    let (state, history) = match tokio::try_join!(store.load_guild(a.guild), history) {
        Ok((state, history)) => (state.value, history),
        Err(e) => {
            tracing::error!(error = %e, guild = %a.guild, "reading a guild for the dashboard failed");
            return trouble(d, &a.session);
        }
    };
    let csrf = d.keys.csrf(&a.session);
    let view = GuildView {
        guild: a.guild,
        name: &a.name,
        state: &state,
        now_ms: d.core.clock().now_ms(),
        page,
        history: &history,
        csrf: &csrf,
        viewer: a.session.user,
        said,
    };
    let markup = if part {
        page::live(&view)
    } else {
        page::page(&viewer(d, &a.session, &csrf), &view)
    };
    html(StatusCode::OK, markup)
}

/// What the command answered, as one plain sentence for the page.
pub(crate) fn said(response: &InteractionResponse) -> String {
    use InteractionResponseType::{DeferredChannelMessageWithSource, DeferredUpdateMessage};
    if matches!(
        response.kind,
        DeferredChannelMessageWithSource | DeferredUpdateMessage
    ) {
        return "Sent to the player.".to_owned();
    }
    let data = response.data.as_ref();
    let text = data
        .and_then(|d| d.content.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let embed = data?.embeds.as_ref()?.first()?;
            embed.description.clone().or_else(|| embed.title.clone())
        })
        .unwrap_or_else(|| "Done.".to_owned());
    // Discord's markdown means nothing on the page.
    text.replace("**", "").replace('`', "")
}
