//! `/lyrics [query]`: the current track's lyrics (or a named song's) from LRCLIB, a page at
//! a time, the page with the line playing now first when the lyrics are synced.

use std::time::Duration;

use twilight_model::http::interaction::InteractionResponse;

use timmybot_accounts::lyrics::{Lyrics, LyricsError};
use timmybot_discord::lyrics::{self as ui, LyricsView};
use timmybot_discord::render::escape;
use timmybot_discord::reply;

use crate::{CommandError, Core, Ctx};

/// LRCLIB's share of Discord's 3 s.
pub const DEADLINE: Duration = Duration::from_millis(2_300);

fn lrclib(core: &Core) -> Result<&timmybot_accounts::lyrics::Lrclib, CommandError> {
    core.accounts
        .as_deref()
        .map(|a| a.lyrics())
        .ok_or_else(|| CommandError::User("Lyrics aren't set up on this bot.".into()))
}

impl From<LyricsError> for CommandError {
    fn from(e: LyricsError) -> Self {
        CommandError::User(reply::sentence(&e.to_string()))
    }
}

async fn within<T>(
    fut: impl std::future::Future<Output = Result<T, LyricsError>>,
) -> Result<T, CommandError> {
    crate::library::within(DEADLINE, "LRCLIB", fut).await
}

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    query: Option<String>,
) -> Result<InteractionResponse, CommandError> {
    let lrclib = lrclib(core)?;
    let (found, position, asked) = match query {
        Some(q) => (within(lrclib.find(None, &q, None)).await?, None, q),
        None => {
            let state = core.ports.store.load_guild(ctx.guild).await?.value;
            let Some(np) = state.queue.now_playing() else {
                return Err(CommandError::User(
                    "Nothing is playing. Name a song: `/lyrics query: artist and title`.".into(),
                ));
            };
            let t = &np.track;
            let found = within(lrclib.find(t.artist.as_deref(), &t.title, t.duration_ms)).await?;
            let position = Some(np.position_ms(core.ports.clock.now_ms()));
            (found, position, t.title.clone())
        }
    };
    let Some(lyrics) = found else {
        return Ok(reply::ephemeral(format!(
            "No lyrics found for **{}** on LRCLIB.",
            escape(&asked)
        )));
    };
    if lyrics.instrumental || lyrics.lines.iter().all(|l| l.text.trim().is_empty()) {
        return Ok(reply::ephemeral(format!(
            "**{}** is an instrumental: there are no lyrics.",
            escape(&lyrics.title)
        )));
    }
    let current = position.and_then(|p| lyrics.current(p));
    let page = current.map_or(1, ui::page_of);
    Ok(show(&lyrics, current, page, false))
}

/// `lyrics:<id>:<page>`: another page of a song shown before.
pub async fn page_button(core: &Core, rest: &str) -> Result<InteractionResponse, CommandError> {
    let (id, page) = ui::parse_page_id(rest)
        .ok_or_else(|| CommandError::Malformed("a lyrics page button".into()))?;
    let lyrics = within(lrclib(core)?.by_id(id))
        .await?
        .ok_or_else(|| CommandError::User("Those lyrics are no longer on LRCLIB.".into()))?;
    Ok(show(&lyrics, None, page, true))
}

fn show(lyrics: &Lyrics, current: Option<usize>, page: usize, update: bool) -> InteractionResponse {
    let lines: Vec<String> = lyrics.lines.iter().map(|l| l.text.clone()).collect();
    ui::page(
        &LyricsView {
            id: lyrics.id,
            title: &lyrics.title,
            artist: &lyrics.artist,
            lines: &lines,
            current,
        },
        page,
        update,
    )
}
