//! The linked-account and library messages: the YouTube code with its button, the Spotify
//! link (and the form to paste where it landed), the playlist menus, and lists of tracks to
//! queue again. Custom ids are in [`crate::spec::library`].

use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::channel::message::component::{
    ActionRow, ButtonStyle, Component, Label, SelectMenuType, TextInput, TextInputStyle,
};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFooterBuilder};
use twilight_util::builder::message::{ButtonBuilder, SelectMenuBuilder, SelectMenuOptionBuilder};
use twilight_util::builder::InteractionResponseDataBuilder;

use timmybot_domain::Platform;

use crate::spec::library as ids;

const COLOR: u32 = 0x5865F2;
/// Discord's limits: 25 options a menu, 100 characters a label or value, 5 rows a message.
const OPTIONS_MAX: usize = 25;
const LABEL_MAX: usize = 100;
const ROWS_MAX: usize = 5;
/// The longest address a user may paste into the Spotify form.
pub const PASTED_URL_MAX: usize = 2048;

/// What the bot can and cannot do with a linked account, said where users link one.
pub const YOUTUBE_HONESTY: &str = "This links your YouTube **library** (your playlists and liked \
videos), read-only. It is not YouTube Premium: audio still plays the way `/play` does.";
pub const SPOTIFY_HONESTY: &str = "This links your Spotify **library** (playlists you own or \
collaborate on, liked songs, recently played), read-only. Spotify audio is matched and played \
from YouTube, as `/play` does with Spotify links. A self-hosted Spotify app links at most \
5 people.";

pub fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::Spotify => "Spotify",
        Platform::Youtube => "YouTube",
        _ => "this platform",
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn ephemeral(
    data: InteractionResponseDataBuilder,
    kind: InteractionResponseType,
) -> InteractionResponse {
    InteractionResponse {
        kind,
        data: Some(
            data.flags(MessageFlags::EPHEMERAL)
                .allowed_mentions(AllowedMentions::default())
                .build(),
        ),
    }
}

fn row(components: Vec<Component>) -> Component {
    Component::ActionRow(ActionRow {
        id: None,
        components,
    })
}

fn button(label: &str, custom_id: &str, style: ButtonStyle) -> Component {
    Component::Button(
        ButtonBuilder::new(style)
            .label(cut(label, 80))
            .custom_id(custom_id)
            .build(),
    )
}

/// `/auth-youtube`'s reply: the code to type, where, and the button to press after.
pub fn youtube_code(user_code: &str, url: &str, expires_at_ms: u64) -> InteractionResponse {
    let text = format!(
        "1. Open **<{url}>** and sign in.\n2. Enter the code **`{code}`**.\n3. Come back and \
         press **I've approved it**.\n\nThe code expires <t:{expires}:R>.\n\n{YOUTUBE_HONESTY}",
        // In a code span nothing is markdown; only a backtick could end it.
        code = user_code.replace('`', ""),
        expires = expires_at_ms / 1000,
    );
    youtube_message(
        &text,
        true,
        InteractionResponseType::ChannelMessageWithSource,
    )
}

/// The YouTube message after a press: `text`, with the button kept while the link is pending.
pub fn youtube_check(text: &str, pending: bool) -> InteractionResponse {
    youtube_message(text, pending, InteractionResponseType::UpdateMessage)
}

fn youtube_message(
    text: &str,
    pending: bool,
    kind: InteractionResponseType,
) -> InteractionResponse {
    let components = if pending {
        vec![row(vec![button(
            "I've approved it",
            ids::YOUTUBE_CHECK,
            ButtonStyle::Success,
        )])]
    } else {
        Vec::new()
    };
    let embed = EmbedBuilder::new()
        .title("Link YouTube")
        .color(COLOR)
        .description(text)
        .build();
    ephemeral(
        InteractionResponseDataBuilder::new()
            .embeds([embed])
            .components(components),
        kind,
    )
}

/// `/auth-spotify`'s reply. `paste`: no callback can be reached, so the user pastes the
/// address they land on into a form.
pub fn spotify_link(url: &str, paste: bool) -> InteractionResponse {
    let how = if paste {
        "1. Press **Open Spotify** and approve.\n2. Your browser then lands on a page at \
         `127.0.0.1` that does not load: that is expected. Copy that page's whole address.\n\
         3. Press **Paste the link** and paste it.\n\nThe link works for 10 minutes."
    } else {
        "Press **Open Spotify** and approve; the page you land on says when it is done. \
         The link works for 10 minutes."
    };
    let embed = EmbedBuilder::new()
        .title("Link Spotify")
        .color(COLOR)
        .description(format!("{how}\n\n{SPOTIFY_HONESTY}"))
        .build();
    let mut buttons = vec![Component::Button(
        ButtonBuilder::new(ButtonStyle::Link)
            .label("Open Spotify")
            .url(url)
            .build(),
    )];
    if paste {
        buttons.push(button(
            "Paste the link",
            ids::SPOTIFY_PASTE,
            ButtonStyle::Primary,
        ));
    }
    ephemeral(
        InteractionResponseDataBuilder::new()
            .embeds([embed])
            .components([row(buttons)]),
        InteractionResponseType::ChannelMessageWithSource,
    )
}

/// The "Paste the link" form.
pub fn spotify_form() -> InteractionResponse {
    #[allow(deprecated)] // an input's own label is deprecated; the Label carries it
    let input = Component::Label(Label {
        id: None,
        label: "The address you landed on".into(),
        description: Some("It starts with http://127.0.0.1 and holds code= and state=".into()),
        component: Box::new(Component::TextInput(TextInput {
            id: None,
            custom_id: ids::SPOTIFY_FORM_URL.into(),
            label: None,
            max_length: u16::try_from(PASTED_URL_MAX).ok(),
            min_length: None,
            placeholder: Some("http://127.0.0.1:8888/callback?code=…&state=…".into()),
            required: Some(true),
            style: TextInputStyle::Paragraph,
            value: None,
        })),
    });
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(
            InteractionResponseDataBuilder::new()
                .custom_id(ids::SPOTIFY_FORM)
                .title("Paste the link")
                .components([input])
                .build(),
        ),
    }
}

/// The address pasted into the form.
pub fn pasted_url(data: &ModalInteractionData) -> Option<&str> {
    let mut stack: Vec<&ModalInteractionComponent> = data.components.iter().collect();
    while let Some(c) = stack.pop() {
        match c {
            ModalInteractionComponent::ActionRow(r) => stack.extend(r.components.iter()),
            ModalInteractionComponent::Label(l) => stack.push(&l.component),
            ModalInteractionComponent::TextInput(t) if t.custom_id == ids::SPOTIFY_FORM_URL => {
                return Some(t.value.as_str())
            }
            _ => {}
        }
    }
    None
}

/// One playlist in a menu.
#[derive(Debug, Clone)]
pub struct PlaylistOption {
    pub id: String,
    pub title: String,
    pub tracks: u32,
}

/// One platform's page of playlists.
#[derive(Debug, Clone)]
pub struct PlaylistPage {
    pub platform: Platform,
    pub items: Vec<PlaylistOption>,
    /// The cursor of the next page, if any.
    pub next: Option<String>,
}

/// `/my-playlists`: a menu per platform (and a "More" button when there is more).
/// `update` replaces the message a page button sits on.
pub fn playlists(pages: &[PlaylistPage], notes: &[String], update: bool) -> InteractionResponse {
    let mut rows = Vec::new();
    let mut text = String::from("Pick a playlist to queue it.");
    for page in pages {
        let name = platform_name(page.platform);
        if page.items.is_empty() {
            text.push_str(&format!("\n{name}: no playlists here."));
            continue;
        }
        let mut menu = SelectMenuBuilder::new(
            format!("{}{}", ids::PICK, page.platform.as_str()),
            SelectMenuType::Text,
        )
        .placeholder(format!("Your {name} playlists"));
        for p in page.items.iter().take(OPTIONS_MAX) {
            let label = if p.title.trim().is_empty() {
                "(untitled)".to_owned()
            } else {
                cut(p.title.trim(), LABEL_MAX)
            };
            let tracks = if p.tracks == 1 { "track" } else { "tracks" };
            menu = menu.option(
                SelectMenuOptionBuilder::new(label, p.id.clone())
                    .description(format!("{} {tracks} · {name}", p.tracks))
                    .build(),
            );
        }
        rows.push(row(vec![Component::SelectMenu(menu.build())]));
        if let Some(next) = &page.next {
            let id = format!("{}{}:{next}", ids::PAGE, page.platform.as_str());
            if id.len() <= ids::CUSTOM_ID_MAX {
                rows.push(row(vec![button(
                    &format!("More {name} playlists ▶"),
                    &id,
                    ButtonStyle::Secondary,
                )]));
            }
        }
    }
    rows.truncate(ROWS_MAX);
    for note in notes {
        text.push_str(&format!("\n{note}"));
    }
    let embed = EmbedBuilder::new()
        .title("Your playlists")
        .color(COLOR)
        .description(text)
        .build();
    ephemeral(
        InteractionResponseDataBuilder::new()
            .embeds([embed])
            .components(rows),
        if update {
            InteractionResponseType::UpdateMessage
        } else {
            InteractionResponseType::ChannelMessageWithSource
        },
    )
}

/// A track to offer again: its line in the list, and what `/play` takes to play it.
#[derive(Debug, Clone)]
pub struct AgainItem {
    pub line: String,
    pub query: String,
}

/// A numbered list with a "queue again" button per entry (at most 10 buttons): the history
/// and the recommendations.
pub fn queue_again(
    title: &str,
    intro: &str,
    items: &[AgainItem],
    footer: &str,
) -> InteractionResponse {
    let mut text = intro.to_owned();
    let mut buttons = Vec::new();
    for (i, item) in items.iter().enumerate() {
        text.push_str(&format!("\n`{}.` {}", i + 1, item.line));
        let id = again_id(&item.query);
        if buttons.len() < 10 {
            buttons.push(button(&format!("▶ {}", i + 1), &id, ButtonStyle::Secondary));
        }
    }
    let rows: Vec<Component> = buttons
        .chunks(5)
        .map(|c| row(c.to_vec()))
        .take(ROWS_MAX)
        .collect();
    let mut embed = EmbedBuilder::new()
        .title(title)
        .color(COLOR)
        .description(cut(&text, 4000));
    if !footer.is_empty() {
        embed = embed.footer(EmbedFooterBuilder::new(cut(footer, 2000)));
    }
    ephemeral(
        InteractionResponseDataBuilder::new()
            .embeds([embed.build()])
            .components(rows),
        InteractionResponseType::ChannelMessageWithSource,
    )
}

/// `lib:again:<query>`, the query cut (at a character boundary) to fit Discord's 100.
pub fn again_id(query: &str) -> String {
    let room = ids::CUSTOM_ID_MAX - ids::AGAIN.len();
    let mut q = String::new();
    for c in query.chars() {
        if q.len() + c.len_utf8() > room {
            break;
        }
        q.push(c);
    }
    format!("{}{q}", ids::AGAIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn again_ids_fit_discords_limit_at_a_character_boundary() {
        let id = again_id(&"ä".repeat(80));
        assert!(id.len() <= ids::CUSTOM_ID_MAX);
        assert!(id.starts_with(ids::AGAIN));
        assert_eq!(
            again_id("Rick Astley - Never"),
            "lib:again:Rick Astley - Never"
        );
    }

    #[test]
    fn a_playlist_menu_holds_25_and_pages_past_them() {
        let items = (0..30)
            .map(|i| PlaylistOption {
                id: format!("id{i}"),
                title: "t".repeat(150),
                tracks: i,
            })
            .collect();
        let r = playlists(
            &[PlaylistPage {
                platform: Platform::Spotify,
                items,
                next: Some("25".into()),
            }],
            &[],
            false,
        );
        let data = r.data.unwrap();
        let comps = data.components.unwrap();
        let Component::ActionRow(menu_row) = &comps[0] else {
            panic!()
        };
        let Component::SelectMenu(menu) = &menu_row.components[0] else {
            panic!()
        };
        let options = menu.options.as_ref().unwrap();
        assert_eq!(options.len(), 25);
        assert!(options.iter().all(|o| o.label.chars().count() <= 100));
        assert_eq!(menu.custom_id, "lib:pick:spotify");
        let Component::ActionRow(more) = &comps[1] else {
            panic!()
        };
        let Component::Button(b) = &more.components[0] else {
            panic!()
        };
        assert_eq!(b.custom_id.as_deref(), Some("lib:page:spotify:25"));
    }
}
