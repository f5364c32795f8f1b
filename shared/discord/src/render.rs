//! What `/queue`, `/now-playing` and the worker's now-playing message look like.
//! Pure: state in, message out.

use twilight_model::channel::message::component::{ActionRow, ButtonStyle, Component};
use twilight_model::channel::message::{AllowedMentions, Embed};
use twilight_model::http::interaction::InteractionResponseData;
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder, EmbedFooterBuilder};
use twilight_util::builder::message::ButtonBuilder;
use twilight_util::builder::InteractionResponseDataBuilder;

use timmybot_domain::{GuildQueue, GuildState, LoopMode, NowPlaying, Track};

use crate::spec::buttons;

pub const PER_PAGE: usize = 10;
const COLOR: u32 = 0x5865F2;

/// What a now-playing card shows: the `/now-playing` reply and the worker's channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NowPlayingView {
    pub track: Track,
    pub paused: bool,
    /// Where the track is as the card is drawn (while paused, where it stopped).
    pub position_ms: u64,
    pub loop_mode: LoopMode,
    pub volume_percent: u16,
    pub up_next: Option<Track>,
    /// Autoplay chose this track because of the one named here.
    pub because: Option<String>,
}

impl NowPlayingView {
    /// The view of `queue` at `now_ms`; `None` when nothing plays.
    pub fn of(queue: &GuildQueue, now_ms: u64) -> Option<Self> {
        let np = queue.now_playing()?;
        Some(Self {
            track: np.track.clone(),
            paused: np.paused,
            position_ms: np.position_ms(now_ms),
            loop_mode: queue.loop_mode(),
            volume_percent: queue.volume().percent(),
            up_next: queue.upcoming().first().cloned(),
            because: None,
        })
    }

    /// The view of the guild's queue, marked when autoplay chose the track.
    pub fn of_state(state: &GuildState, now_ms: u64) -> Option<Self> {
        Some(Self {
            because: state.marks.autoplay_because.clone(),
            ..Self::of(&state.queue, now_ms)?
        })
    }
}

/// `m:ss`, or `h:mm:ss` from an hour up.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Keeps titles from turning into Markdown.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '[' | ']' | '(' | ')' | '#' | '-'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A track's title, bold and escaped, for one-line announcements.
pub fn escape_title(track: &Track) -> String {
    format!("**{}**", escape(&track.title))
}

fn title_artist(track: &Track) -> String {
    let mut s = escape_title(track);
    if let Some(artist) = &track.artist {
        s.push_str(&format!(" — {}", escape(artist)));
    }
    s
}

fn line(track: &Track) -> String {
    let mut s = title_artist(track);
    if let Some(ms) = track.duration_ms {
        s.push_str(&format!(" ({})", duration(ms)));
    }
    s
}

fn playing_line(track: &Track, paused: bool, position_ms: u64) -> String {
    let pos = duration(position_ms);
    let total = track
        .duration_ms
        .map_or_else(|| "live".to_owned(), duration);
    let state = if paused { "⏸ " } else { "▶ " };
    format!("{state}{} · {pos} / {total}", title_artist(track))
}

fn now_line(np: &NowPlaying, now_ms: u64) -> String {
    playing_line(&np.track, np.paused, np.position_ms(now_ms))
}

/// One page of the queue, with buttons to the pages beside it.
pub fn queue_page(queue: &GuildQueue, page: usize, now_ms: u64) -> InteractionResponseData {
    let (tracks, pages) = queue.page(page, PER_PAGE);
    let page = page.clamp(1, pages);
    let mut text = match queue.now_playing() {
        Some(np) => format!("**Now playing**\n{}\n\n", now_line(np, now_ms)),
        None => String::new(),
    };
    if queue.upcoming().is_empty() {
        text.push_str("Nothing is queued. Add something with `/play`.");
    }
    let first = (page - 1) * PER_PAGE;
    for (i, t) in tracks.iter().enumerate() {
        text.push_str(&format!(
            "`{}.` {} · <@{}>\n",
            first + i + 1,
            line(t),
            t.requester
        ));
    }
    let total_ms: u64 = queue.upcoming().iter().filter_map(|t| t.duration_ms).sum();
    let footer = format!(
        "Page {page}/{pages} · {} queued · {} · loop: {} · volume: {}%",
        queue.upcoming().len(),
        duration(total_ms),
        queue.loop_mode().as_str(),
        queue.volume().percent(),
    );
    let embed = EmbedBuilder::new()
        .title("Queue")
        .color(COLOR)
        .description(text)
        .footer(EmbedFooterBuilder::new(footer))
        .build();
    let buttons = ActionRow {
        id: None,
        components: vec![
            page_button("◀ Previous", page.saturating_sub(1).max(1), page <= 1),
            page_button("Next ▶", (page + 1).min(pages), page >= pages),
        ],
    };
    message(embed)
        .components([Component::ActionRow(buttons)])
        .build()
}

fn page_button(label: &str, to: usize, disabled: bool) -> Component {
    Component::Button(
        ButtonBuilder::new(ButtonStyle::Secondary)
            .label(label)
            .custom_id(format!("{}{to}", buttons::QUEUE_PAGE))
            .disabled(disabled)
            .build(),
    )
}

/// The `/now-playing` reply: the card with its controls.
pub fn now_playing(view: &NowPlayingView) -> InteractionResponseData {
    message(now_playing_embed(view))
        .components(now_playing_controls(view.paused))
        .build()
}

/// The now-playing embed, for the `/now-playing` reply and the worker's channel message.
pub fn now_playing_embed(view: &NowPlayingView) -> Embed {
    EmbedBuilder::new()
        .title("Now playing")
        .color(COLOR)
        .description(match &view.because {
            Some(seed) => format!(
                "{}\n📻 Autoplay — because you played {}",
                playing_line(&view.track, view.paused, view.position_ms),
                escape(seed)
            ),
            None => playing_line(&view.track, view.paused, view.position_ms),
        })
        .field(
            EmbedFieldBuilder::new("Requested by", format!("<@{}>", view.track.requester)).inline(),
        )
        .field(EmbedFieldBuilder::new("Loop", view.loop_mode.as_str()).inline())
        .field(EmbedFieldBuilder::new("Volume", format!("{}%", view.volume_percent)).inline())
        .field(EmbedFieldBuilder::new(
            "Up next",
            view.up_next
                .as_ref()
                .map_or_else(|| "nothing".to_owned(), line),
        ))
        .build()
}

/// The now-playing message's controls: back, pause or resume, skip and stop, then loop and
/// shuffle (Discord puts at most five buttons in a row).
pub fn now_playing_controls(paused: bool) -> [Component; 2] {
    let button = |label: &str, id: &str, style: ButtonStyle| {
        Component::Button(ButtonBuilder::new(style).label(label).custom_id(id).build())
    };
    let pause = if paused { "▶ Resume" } else { "⏸ Pause" };
    let row = |components| {
        Component::ActionRow(ActionRow {
            id: None,
            components,
        })
    };
    [
        row(vec![
            button("⏮ Back", buttons::PREVIOUS, ButtonStyle::Secondary),
            button(pause, buttons::PAUSE_RESUME, ButtonStyle::Primary),
            button("⏭ Skip", buttons::SKIP, ButtonStyle::Secondary),
            button("⏹ Stop", buttons::STOP, ButtonStyle::Danger),
        ]),
        row(vec![
            button("🔁 Loop", buttons::LOOP, ButtonStyle::Secondary),
            button("🔀 Shuffle", buttons::SHUFFLE, ButtonStyle::Secondary),
        ]),
    ]
}

fn message(embed: Embed) -> InteractionResponseDataBuilder {
    InteractionResponseDataBuilder::new()
        .embeds([embed])
        .allowed_mentions(AllowedMentions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_player() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(225_000), "3:45");
        assert_eq!(duration(3_725_000), "1:02:05");
    }

    #[test]
    fn markdown_in_titles_is_escaped() {
        assert_eq!(escape("*NSYNC - Bye_Bye"), "\\*NSYNC \\- Bye\\_Bye");
    }
}
