//! `/playlist`: its subcommands parsed into [`PlaylistCommand`], and the list and show
//! replies. Pure: summaries in, message out.

use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::http::interaction::InteractionResponse;

use timmybot_domain::playlist::PLAYLISTS_MAX;
use timmybot_domain::{PlaylistName, PlaylistSummary, SavedPlaylist};

use crate::command::{ArgError, Args};
use crate::render::{duration, escape};
use crate::reply;
use crate::spec::{name, opt};

/// How many of a playlist's tracks `/playlist show` lists.
pub const SHOWN_TRACKS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaylistCommand {
    Save { name: PlaylistName },
    Load { name: PlaylistName, shuffle: bool },
    List,
    Show { name: PlaylistName },
    Delete { name: PlaylistName },
}

pub(crate) fn parse(sub: Option<&CommandDataOption>) -> Result<PlaylistCommand, ArgError> {
    let usage =
        || ArgError::Invalid("Use `/playlist save`, `load`, `list`, `show` or `delete`.".into());
    let sub = sub.ok_or_else(usage)?;
    let args = match &sub.value {
        CommandOptionValue::SubCommand(args) => Args(args.as_slice()),
        _ => return Err(usage()),
    };
    let named = || {
        let raw = args.string(opt::NAME).ok_or(ArgError::Missing(opt::NAME))?;
        PlaylistName::parse(raw).map_err(|e| ArgError::Invalid(reply::sentence(&e.to_string())))
    };
    Ok(match sub.name.as_str() {
        name::SAVE => PlaylistCommand::Save { name: named()? },
        name::LOAD => PlaylistCommand::Load {
            name: named()?,
            shuffle: args.boolean(opt::SHUFFLE).unwrap_or(false),
        },
        name::LIST => PlaylistCommand::List,
        name::SHOW => PlaylistCommand::Show { name: named()? },
        name::DELETE => PlaylistCommand::Delete { name: named()? },
        _ => return Err(usage()),
    })
}

/// What the user has typed so far into a `/playlist` name, for autocomplete.
pub fn focused_name(data: &CommandData) -> Option<&str> {
    let CommandOptionValue::SubCommand(args) = &data.options.first()?.value else {
        return None;
    };
    args.iter().find_map(|o| match &o.value {
        CommandOptionValue::Focused(text, _) if o.name == opt::NAME => Some(text.as_str()),
        _ => None,
    })
}

/// `/playlist list`: each saved playlist on a line, by name.
pub fn list(summaries: &[PlaylistSummary]) -> InteractionResponse {
    if summaries.is_empty() {
        return reply::ephemeral(
            "No saved playlists here yet. `/playlist save name` saves the queue as one.",
        );
    }
    let mut text = format!(
        "**Saved playlists** ({} of at most {PLAYLISTS_MAX})\n",
        summaries.len()
    );
    for s in summaries {
        text.push_str(&format!(
            "• **{}** — {} · {} · by <@{}>\n",
            escape(s.name.as_str()),
            tracks(s.track_count),
            duration(s.duration_ms),
            s.owner
        ));
    }
    reply::ephemeral(text.trim_end())
}

/// `/playlist show`: the first [`SHOWN_TRACKS`] tracks, and how many more.
pub fn show(playlist: &SavedPlaylist) -> InteractionResponse {
    let summary = playlist.summary();
    let mut text = format!(
        "**{}** — {} · {} · saved by <@{}>\n",
        escape(playlist.name.as_str()),
        tracks(summary.track_count),
        duration(summary.duration_ms),
        playlist.owner
    );
    for (i, t) in playlist.tracks().iter().take(SHOWN_TRACKS).enumerate() {
        let len = t
            .duration_ms
            .map(|ms| format!(" ({})", duration(ms)))
            .unwrap_or_default();
        text.push_str(&format!("{}. {}{len}\n", i + 1, escape(&t.title)));
    }
    let more = summary.track_count.saturating_sub(SHOWN_TRACKS);
    if more > 0 {
        text.push_str(&format!("…and {} more.", tracks(more)));
    }
    reply::ephemeral(text.trim_end())
}

fn tracks(n: usize) -> String {
    if n == 1 {
        "1 track".to_owned()
    } else {
        format!("{n} tracks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_domain::{GuildId, Platform, Track, TrackKey, UserId};

    fn option(name: &str, value: CommandOptionValue) -> CommandDataOption {
        CommandDataOption {
            name: name.into(),
            value,
        }
    }

    fn sub(name: &str, args: Vec<CommandDataOption>) -> CommandDataOption {
        option(name, CommandOptionValue::SubCommand(args))
    }

    #[test]
    fn subcommands_parse_with_clean_names() {
        let named = |n: &str| vec![option(opt::NAME, CommandOptionValue::String(n.into()))];
        assert_eq!(
            parse(Some(&sub(name::SAVE, named("  Road  Trip ")))).unwrap(),
            PlaylistCommand::Save {
                name: PlaylistName::parse("Road Trip").unwrap()
            }
        );
        let mut load = named("x");
        load.push(option(opt::SHUFFLE, CommandOptionValue::Boolean(true)));
        assert!(matches!(
            parse(Some(&sub(name::LOAD, load))).unwrap(),
            PlaylistCommand::Load { shuffle: true, .. }
        ));
        assert_eq!(
            parse(Some(&sub(name::LIST, vec![]))).unwrap(),
            PlaylistCommand::List
        );
        assert_eq!(
            parse(Some(&sub(name::DELETE, vec![]))),
            Err(ArgError::Missing(opt::NAME))
        );
        let err = parse(Some(&sub(name::SHOW, named(&"n".repeat(51))))).unwrap_err();
        assert!(
            err.to_string().starts_with("A playlist name is 1 to 50"),
            "{err}"
        );
        assert!(parse(None).is_err());
    }

    #[test]
    fn show_lists_the_first_tracks_and_counts_the_rest() {
        let tracks: Vec<Track> = (0..23)
            .map(|i| {
                Track::new(
                    TrackKey::new(Platform::Youtube, &format!("v{i}")).unwrap(),
                    &format!("Song_{i}"),
                    "x",
                    UserId::new(5).unwrap(),
                )
                .unwrap()
                .with_duration_ms(60_000)
            })
            .collect();
        let p = SavedPlaylist::new(
            GuildId::new(1).unwrap(),
            PlaylistName::parse("Mix").unwrap(),
            UserId::new(7).unwrap(),
            0,
            tracks,
        )
        .unwrap();
        let res = show(&p);
        let text = res.data.unwrap().content.unwrap();
        assert!(
            text.starts_with("**Mix** — 23 tracks · 23:00 · saved by <@7>"),
            "{text}"
        );
        assert!(text.contains("1. Song\\_0 (1:00)"), "{text}");
        assert!(text.contains("20. Song\\_19 (1:00)"), "{text}");
        assert!(!text.contains("Song\\_20"), "{text}");
        assert!(text.ends_with("…and 3 tracks more."), "{text}");
    }
}
