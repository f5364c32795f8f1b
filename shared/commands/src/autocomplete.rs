//! `/play` suggestions from the guild's own play history (no platform API has one), and
//! `/playlist` names from the guild's saved playlists.

use std::collections::HashSet;

use twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue};
use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};
use twilight_util::builder::InteractionResponseDataBuilder;

use timmybot_discord::command::focused_query;
use timmybot_domain::{GuildId, HistoryEntry};

use crate::{CommandError, Core};

/// Discord shows at most 25 choices, each name and value at most 100 characters.
const CHOICES_MAX: usize = 25;
const CHOICE_CHARS: usize = 100;
/// How far back suggestions look: one query, well inside the 3 s budget.
const HISTORY_DEPTH: usize = 200;

pub async fn play(
    core: &Core,
    guild: GuildId,
    data: &CommandData,
) -> Result<InteractionResponse, CommandError> {
    let typed = focused_query(data).unwrap_or_default();
    let history = core.ports.store.recent_plays(guild, HISTORY_DEPTH).await?;
    Ok(InteractionResponse {
        kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
        data: Some(
            InteractionResponseDataBuilder::new()
                .choices(suggest(&history, typed))
                .build(),
        ),
    })
}

/// The guild's saved playlists whose name contains what was typed, any case.
pub async fn playlist_names(
    core: &Core,
    guild: GuildId,
    data: &CommandData,
) -> Result<InteractionResponse, CommandError> {
    let typed = timmybot_discord::playlist::focused_name(data)
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let choices = core
        .ports
        .store
        .playlists(guild)
        .await?
        .into_iter()
        .filter(|p| p.name.key().contains(&typed))
        .take(CHOICES_MAX)
        .map(|p| CommandOptionChoice {
            name: p.name.as_str().to_owned(),
            name_localizations: None,
            value: CommandOptionChoiceValue::String(p.name.as_str().to_owned()),
        })
        .collect::<Vec<_>>();
    Ok(InteractionResponse {
        kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
        data: Some(
            InteractionResponseDataBuilder::new()
                .choices(choices)
                .build(),
        ),
    })
}

/// The most recent distinct plays whose title or artist contains `typed`, any case.
pub fn suggest(history: &[HistoryEntry], typed: &str) -> Vec<CommandOptionChoice> {
    let needle = typed.trim().to_lowercase();
    let mut seen = HashSet::new();
    history
        .iter()
        .filter(|h| {
            needle.is_empty()
                || h.title.to_lowercase().contains(&needle)
                || h.artist
                    .as_deref()
                    .is_some_and(|a| a.to_lowercase().contains(&needle))
        })
        .filter(|h| seen.insert(h.track_key.clone()))
        .take(CHOICES_MAX)
        .map(|h| {
            let name = match &h.artist {
                Some(artist) => format!("{} — {artist}", h.title),
                None => h.title.clone(),
            };
            // The value is what /play receives. A source that does not fit becomes a search
            // that finds the same song.
            let value = if h.source.chars().count() <= CHOICE_CHARS {
                h.source.clone()
            } else {
                cut(&format!(
                    "{} {}",
                    h.title,
                    h.artist.as_deref().unwrap_or_default()
                ))
            };
            CommandOptionChoice {
                name: cut(&name),
                name_localizations: None,
                value: CommandOptionChoiceValue::String(value),
            }
        })
        .collect()
}

fn cut(text: &str) -> String {
    text.trim().chars().take(CHOICE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_domain::{Platform, TrackKey, UserId};

    fn play(tag: &str, title: &str, artist: Option<&str>, source: &str) -> HistoryEntry {
        HistoryEntry {
            guild_id: GuildId::new(1).unwrap(),
            played_at_ms: 0,
            track_key: TrackKey::new(Platform::Youtube, tag).unwrap(),
            requester: UserId::new(2).unwrap(),
            title: title.into(),
            artist: artist.map(Into::into),
            source: source.into(),
        }
    }

    fn value(c: &CommandOptionChoice) -> &str {
        match &c.value {
            CommandOptionChoiceValue::String(s) => s,
            _ => panic!("not a string choice"),
        }
    }

    #[test]
    fn filters_by_title_or_artist_and_keeps_the_newest_of_repeats() {
        let history = [
            play(
                "a",
                "Never Gonna Give You Up",
                Some("Rick Astley"),
                "https://youtu.be/a",
            ),
            play("b", "Take On Me", Some("a-ha"), "https://youtu.be/b"),
            play(
                "a",
                "Never Gonna Give You Up",
                Some("Rick Astley"),
                "https://youtu.be/a",
            ),
        ];
        let all = suggest(&history, "");
        assert_eq!(all.len(), 2, "repeats collapse");
        let rick = suggest(&history, "astley");
        assert_eq!(rick.len(), 1);
        assert_eq!(rick[0].name, "Never Gonna Give You Up — Rick Astley");
        assert_eq!(value(&rick[0]), "https://youtu.be/a");
        assert!(suggest(&history, "zzz").is_empty());
    }

    #[test]
    fn stays_inside_discords_limits() {
        let long_source = format!("https://a.example/{}", "x".repeat(200));
        let history: Vec<_> = (0..40)
            .map(|i| {
                play(
                    &format!("t{i}"),
                    &"T".repeat(150),
                    Some("Band"),
                    &long_source,
                )
            })
            .collect();
        let got = suggest(&history, "t");
        assert_eq!(got.len(), CHOICES_MAX);
        for c in &got {
            assert!(c.name.chars().count() <= CHOICE_CHARS);
            assert!(value(c).chars().count() <= CHOICE_CHARS);
            assert!(
                !value(c).starts_with("https://"),
                "an over-long source becomes a search"
            );
        }
    }
}
