//! `/search`'s reply: the top results in a select menu whose custom id carries when it
//! expires, so that a pick after that is refused even if the menu is still on screen.

use twilight_model::channel::message::component::{ActionRow, Component, SelectMenuType};
use twilight_util::builder::message::{SelectMenuBuilder, SelectMenuOptionBuilder};

use timmybot_domain::Track;

use crate::render::{duration, escape};

/// How many results `/search` shows.
pub const RESULTS: usize = 5;
/// How long the menu may be used.
pub const MENU_TTL_MS: u64 = 2 * 60 * 1000;
/// `search:<expires at, ms>`.
pub const PICK: &str = "search:";
/// Discord's limit on an option's label, description and value.
const OPTION_MAX: usize = 100;

/// The text and the menu for `results`, usable until `expires_at_ms`.
pub fn menu(query: &str, results: &[Track], expires_at_ms: u64) -> (String, Vec<Component>) {
    let mut select = SelectMenuBuilder::new(format!("{PICK}{expires_at_ms}"), SelectMenuType::Text)
        .placeholder("Pick one to queue it");
    for t in results.iter().take(RESULTS) {
        let mut about = Vec::new();
        if let Some(artist) = &t.artist {
            about.push(artist.clone());
        }
        if let Some(ms) = t.duration_ms {
            about.push(duration(ms));
        }
        let mut option = SelectMenuOptionBuilder::new(cut(&t.title), value(t));
        if !about.is_empty() {
            option = option.description(cut(&about.join(" · ")));
        }
        select = select.option(option.build());
    }
    let select = Component::SelectMenu(select.build());
    let text = format!(
        "🔎 Results for **{}**: pick one within 2 minutes to queue it.",
        escape(&cut(query))
    );
    (
        text,
        vec![Component::ActionRow(ActionRow {
            id: None,
            components: vec![select],
        })],
    )
}

/// When a pick's menu expires, from its custom id's tail.
pub fn expires_at(tail: &str) -> Option<u64> {
    tail.parse().ok()
}

/// What `/play` takes to play `t`: its page, or, when that is too long for an option, a
/// search that finds it again.
fn value(t: &Track) -> String {
    if t.source.chars().count() <= OPTION_MAX {
        t.source.clone()
    } else {
        let words = match &t.artist {
            Some(a) => format!("{a} {}", t.title),
            None => t.title.clone(),
        };
        cut(&words)
    }
}

fn cut(text: &str) -> String {
    text.trim().chars().take(OPTION_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_domain::{Platform, TrackKey, UserId};

    fn track(id: &str, title: &str, source: &str) -> Track {
        Track::new(
            TrackKey::new(Platform::Youtube, id).unwrap(),
            title,
            source,
            UserId::new(1).unwrap(),
        )
        .unwrap()
        .with_artist("Channel")
        .with_duration_ms(225_000)
    }

    #[test]
    fn each_result_is_an_option_with_its_channel_and_length() {
        let long = format!("https://example.com/{}", "x".repeat(120));
        let results = [
            track("a", "First", "https://www.youtube.com/watch?v=a"),
            track("b", &"T".repeat(130), &long),
        ];
        let (text, rows) = menu("lofi *beats*", &results, 42);
        assert_eq!(
            text,
            "🔎 Results for **lofi \\*beats\\***: pick one within 2 minutes to queue it."
        );
        let Component::ActionRow(row) = &rows[0] else {
            panic!("a row")
        };
        let Component::SelectMenu(select) = &row.components[0] else {
            panic!("a menu")
        };
        assert_eq!(select.custom_id, "search:42");
        assert_eq!(expires_at("42"), Some(42));
        let options = select.options.as_ref().unwrap();
        assert_eq!(options[0].label, "First");
        assert_eq!(options[0].description.as_deref(), Some("Channel · 3:45"));
        assert_eq!(options[0].value, "https://www.youtube.com/watch?v=a");
        assert_eq!(options[1].label.chars().count(), 100);
        assert_eq!(options[1].value, format!("Channel {}", "T".repeat(92)));
    }
}
