//! A guild's page: the player (now playing, controls, the queue) as one `#live` part that
//! polls and that every control answers with, then the add form and the recent history.

use maud::{html, Markup};

use timmybot_domain::{GuildId, GuildState, HistoryEntry, LoopMode, Track, UserId};

use timmybot_discord::render::duration;

use super::{shell, when, Viewer};
use crate::routes::BASE;

/// Queue rows per page, as a person scrolls them.
pub const PER_PAGE: usize = 50;

pub struct GuildView<'a> {
    pub guild: GuildId,
    pub name: &'a str,
    pub state: &'a GuildState,
    pub now_ms: u64,
    /// The queue page shown, 1-based.
    pub page: usize,
    pub history: &'a [HistoryEntry],
    pub csrf: &'a str,
    pub viewer: UserId,
    /// What the last control answered.
    pub said: Option<&'a str>,
}

pub fn page(viewer: &Viewer<'_>, view: &GuildView<'_>) -> Markup {
    let action = format!("{BASE}/guilds/{}", view.guild);
    shell(
        view.name,
        Some(viewer),
        html! {
            h1 { (view.name) }
            (live(view))
            section.card {
                h2 { "Add a track" }
                form.add method="post" action=(action) hx-post=(action) hx-target="#live" hx-swap="outerHTML" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="op" value="play";
                    label for="query" { "Song, search or link" }
                    input #query type="text" name="query" required maxlength="2048" placeholder="never gonna give you up" autocomplete="off";
                    label.inline { input type="checkbox" name="next"; " Play next" }
                    button.primary { "Add" }
                }
                p.muted { "Join a voice channel in the server first: TimmyBot plays where you are." }
            }
            section.card {
                h2 { "Recently played" }
                @if view.history.is_empty() {
                    p.muted { "Nothing yet." }
                } @else {
                    ol.history {
                        @for h in view.history {
                            li {
                                span.title { (h.title) }
                                @if let Some(a) = &h.artist { span.artist { " — " (a) } }
                                span.muted { " · " (when(h.played_at_ms)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The part that polls: now playing, the controls, and one page of the queue.
pub fn live(view: &GuildView<'_>) -> Markup {
    let base = format!("{BASE}/guilds/{}", view.guild);
    let queue = &view.state.queue;
    let (tracks, pages) = queue.page(view.page, PER_PAGE);
    let page = view.page.clamp(1, pages);
    let first = (page - 1) * PER_PAGE + 1;
    let total_ms: u64 = queue.upcoming().iter().filter_map(|t| t.duration_ms).sum();
    let live_url = format!("{base}/live?page={page}");
    html! {
        section #live data-live=(live_url) {
            @if let Some(said) = view.said {
                p.said role="status" { (said) }
            }
            div.card.player {
                @match queue.now_playing() {
                    Some(np) => {
                        p.label { @if np.paused { "⏸ Paused" } @else { "▶ Now playing" } }
                        h2.now { (np.track.title) }
                        @if let Some(a) = &np.track.artist { p.artist { (a) } }
                        (progress(np.position_ms(view.now_ms), np.track.duration_ms, np.paused))
                        p.muted {
                            "Loop " (queue.loop_mode().as_str()) " · volume " (queue.volume().percent()) "%"
                            @if np.track.requester == view.viewer { " · added by you" }
                        }
                    }
                    None => {
                        p.label { "Nothing is playing" }
                        p.muted { "Add a track below, or use /play in Discord." }
                    }
                }
                form.controls method="post" action=(base) hx-post=(base) hx-target="#live" hx-swap="outerHTML" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    input type="hidden" name="page" value=(page);
                    div.buttons {
                        button name="op" value="previous" title="Previous" { "⏮ Previous" }
                        @if queue.now_playing().is_some_and(|np| np.paused) {
                            button name="op" value="resume" { "▶ Resume" }
                        } @else {
                            button name="op" value="pause" { "⏸ Pause" }
                        }
                        button name="op" value="skip" { "⏭ Skip" }
                        button name="op" value="shuffle" { "🔀 Shuffle" }
                    }
                    div.settings {
                        label { "Loop "
                            select name="mode" {
                                @for mode in [LoopMode::Off, LoopMode::Track, LoopMode::Queue] {
                                    option value=(mode.as_str()) selected[mode == queue.loop_mode()] { (mode.as_str()) }
                                }
                            }
                        }
                        button name="op" value="loop" { "Set loop" }
                        label { "Volume "
                            input type="number" name="percent" min="0" max="200" value=(queue.volume().percent());
                        }
                        button name="op" value="volume" { "Set volume" }
                    }
                }
            }
            div.card {
                h2 { "Queue" }
                p.muted {
                    (queue.upcoming().len()) " tracks"
                    @if total_ms > 0 { " · " (duration(total_ms)) }
                }
                @if !tracks.is_empty() {
                    form method="post" action=(base) hx-post=(base) hx-target="#live" hx-swap="outerHTML" {
                        input type="hidden" name="csrf" value=(view.csrf);
                        input type="hidden" name="page" value=(page);
                        ol.queue start=(first) {
                            @for (i, track) in tracks.iter().enumerate() {
                                (row(first + i, track))
                            }
                        }
                    }
                }
                @if pages > 1 {
                    nav.pager {
                        @if page > 1 { a href={ (base) "?page=" (page - 1) } { "‹ Previous page" } }
                        span { "Page " (page) " of " (pages) }
                        @if page < pages { a href={ (base) "?page=" (page + 1) } { "Next page ›" } }
                    }
                }
            }
        }
    }
}

fn row(position: usize, track: &Track) -> Markup {
    html! {
        li {
            span.title { (track.title) }
            @if let Some(a) = &track.artist { span.artist { " — " (a) } }
            @if let Some(ms) = track.duration_ms { span.muted { " (" (duration(ms)) ")" } }
            span.row-buttons {
                button name="op" value={ "up:" (position) } title="Move up" aria-label={ "Move #" (position) " up" } { "↑" }
                button name="op" value={ "down:" (position) } title="Move down" aria-label={ "Move #" (position) " down" } { "↓" }
                button name="op" value={ "remove:" (position) } title="Remove" aria-label={ "Remove #" (position) } { "✕" }
            }
        }
    }
}

/// The position, which `app.js` moves on between polls from the `data-` values.
fn progress(position_ms: u64, duration_ms: Option<u64>, paused: bool) -> Markup {
    html! {
        div.progress data-position-ms=(position_ms) data-duration-ms=[duration_ms] data-paused=(paused) {
            @if let Some(len) = duration_ms {
                progress max=(len) value=(position_ms.min(len)) {}
            }
            span.pos { (duration(position_ms)) }
            @if let Some(len) = duration_ms { " / " (duration(len)) }
        }
    }
}
