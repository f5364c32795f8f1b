//! The `/lyrics` embed: a page of lines, the current one marked when the lyrics are synced,
//! and buttons to the pages beside it (`lyrics:<LRCLIB id>:<page>`).

use twilight_model::channel::message::component::{ActionRow, ButtonStyle, Component};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};
use twilight_util::builder::message::ButtonBuilder;
use twilight_util::builder::InteractionResponseDataBuilder;

use crate::render::escape;
use crate::spec::library::LYRICS_PAGE;

/// Lines per page: short enough to read at a glance, well inside an embed's 4096.
pub const LINES_PER_PAGE: usize = 15;
/// A line is cut here, so a page always fits.
const LINE_MAX: usize = 200;

/// One song's lyrics as the embed shows them.
pub struct LyricsView<'a> {
    pub id: u64,
    pub title: &'a str,
    pub artist: &'a str,
    pub lines: &'a [String],
    /// The line being sung, when the lyrics are synced and the song is playing.
    pub current: Option<usize>,
}

pub fn pages(lines: usize) -> usize {
    lines.div_ceil(LINES_PER_PAGE).max(1)
}

/// The page that holds `line`.
pub fn page_of(line: usize) -> usize {
    line / LINES_PER_PAGE + 1
}

/// Page `page` (1-based, clamped); `update` replaces the message a page button sits on.
pub fn page(view: &LyricsView<'_>, page: usize, update: bool) -> InteractionResponse {
    let total = pages(view.lines.len());
    let page = page.clamp(1, total);
    let first = (page - 1) * LINES_PER_PAGE;
    let mut text = String::new();
    for (i, line) in view
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(LINES_PER_PAGE)
    {
        let line: String = line.chars().take(LINE_MAX).collect();
        let shown = if line.trim().is_empty() {
            "♪".to_owned()
        } else {
            escape(&line)
        };
        if view.current == Some(i) {
            text.push_str(&format!("▶ **{shown}**\n"));
        } else {
            text.push_str(&format!("{shown}\n"));
        }
    }
    let title: String = format!("{} — {}", view.title, view.artist)
        .chars()
        .take(250)
        .collect();
    let embed = EmbedBuilder::new()
        .title(title)
        .color(0x5865F2)
        .description(text)
        .footer(EmbedFooterBuilder::new(format!(
            "Page {page}/{total} · lyrics from LRCLIB (lrclib.net){}",
            if view.current.is_some() {
                " · ▶ marks the line playing now"
            } else {
                ""
            }
        )))
        .build();
    let button = |label: &str, to: usize, disabled: bool| {
        Component::Button(
            ButtonBuilder::new(ButtonStyle::Secondary)
                .label(label)
                .custom_id(format!("{LYRICS_PAGE}{}:{to}", view.id))
                .disabled(disabled)
                .build(),
        )
    };
    let row = Component::ActionRow(ActionRow {
        id: None,
        components: vec![
            button("◀ Previous", page.saturating_sub(1).max(1), page <= 1),
            button("Next ▶", (page + 1).min(total), page >= total),
        ],
    });
    InteractionResponse {
        kind: if update {
            InteractionResponseType::UpdateMessage
        } else {
            InteractionResponseType::ChannelMessageWithSource
        },
        data: Some(
            InteractionResponseDataBuilder::new()
                .embeds([embed])
                .components([row])
                .flags(MessageFlags::EPHEMERAL)
                .allowed_mentions(AllowedMentions::default())
                .build(),
        ),
    }
}

/// `lyrics:<id>:<page>` read back.
pub fn parse_page_id(rest: &str) -> Option<(u64, usize)> {
    let (id, page) = rest.split_once(':')?;
    Some((id.parse().ok()?, page.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_line_is_marked_on_its_page() {
        let lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        let view = LyricsView {
            id: 7,
            title: "T",
            artist: "A",
            lines: &lines,
            current: Some(20),
        };
        assert_eq!(page_of(20), 2);
        let r = page(&view, page_of(20), false);
        let data = r.data.unwrap();
        let text = data.embeds.unwrap()[0].description.clone().unwrap();
        assert!(text.contains("▶ **line 20**"), "{text}");
        assert!(text.starts_with("line 15"), "{text}");
        assert_eq!(parse_page_id("7:3"), Some((7, 3)));
        assert_eq!(parse_page_id("x:3"), None);
    }
}
