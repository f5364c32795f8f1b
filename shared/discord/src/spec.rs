//! The slash commands TimmyBot registers, built with twilight-util's builders, and the names
//! of their commands and options: defined once here, used by the specs and by
//! [`crate::command::Command::parse`], so the two cannot drift apart.
//!
//! Only commands the command core handles are listed: registering one that does nothing
//! would show users a command that only apologises.

use twilight_model::application::command::{Command as CommandSpec, CommandType};
use twilight_model::application::interaction::InteractionContextType;
use twilight_model::channel::ChannelType;
use twilight_model::guild::Permissions;
use twilight_util::builder::command::{
    BooleanBuilder, ChannelBuilder, CommandBuilder, IntegerBuilder, RoleBuilder, StringBuilder,
    SubCommandBuilder,
};
use twilight_validate::command::CommandValidationError;

use timmybot_domain::intent::QUERY_MAX;
use timmybot_domain::playlist::PLAYLIST_NAME_MAX;
use timmybot_domain::queue::{Volume, QUEUE_CAP};

/// Command names.
pub mod name {
    pub const PLAY: &str = "play";
    pub const QUEUE: &str = "queue";
    pub const NOW_PLAYING: &str = "now-playing";
    pub const SKIP: &str = "skip";
    pub const PREVIOUS: &str = "previous";
    pub const STOP: &str = "stop";
    pub const PAUSE: &str = "pause";
    pub const RESUME: &str = "resume";
    pub const SEEK: &str = "seek";
    pub const VOLUME: &str = "volume";
    pub const LOOP: &str = "loop";
    pub const SHUFFLE: &str = "shuffle";
    pub const REMOVE: &str = "remove";
    pub const MOVE: &str = "move";
    pub const CLEAR: &str = "clear";
    pub const JOIN: &str = "join";
    pub const LEAVE: &str = "leave";
    pub const SETTINGS: &str = "settings";
    pub const ALLOWLIST: &str = "allowlist";
    /// `/allowlist`'s subcommands.
    pub const ADD: &str = "add";
    pub const REMOVE_GUILD: &str = "remove";
    pub const LIST: &str = "list";
    pub const REQUESTS: &str = "requests";
    pub const AUDIT: &str = "audit";
    pub const AUTH_YOUTUBE: &str = "auth-youtube";
    pub const AUTH_SPOTIFY: &str = "auth-spotify";
    pub const CHECK_AUTH: &str = "check-auth";
    pub const UNLINK: &str = "unlink";
    pub const MY_PLAYLISTS: &str = "my-playlists";
    pub const LIKED_SONGS: &str = "liked-songs";
    pub const PLAY_HISTORY: &str = "play-history";
    pub const RECOMMENDATIONS: &str = "recommendations";
    pub const LYRICS: &str = "lyrics";
    pub const PLAYLIST: &str = "playlist";
    pub const SEARCH: &str = "search";
    /// `/playlist`'s subcommands (and `list`, above).
    pub const SAVE: &str = "save";
    pub const LOAD: &str = "load";
    pub const SHOW: &str = "show";
    pub const DELETE: &str = "delete";
}

/// Option names.
pub mod opt {
    pub const QUERY: &str = "query";
    pub const NEXT: &str = "next";
    pub const PAGE: &str = "page";
    pub const POSITION: &str = "position";
    pub const PERCENT: &str = "percent";
    pub const MODE: &str = "mode";
    pub const FROM: &str = "from";
    pub const TO: &str = "to";
    pub const DJ_ROLE: &str = "dj_role";
    pub const IDLE_TIMEOUT: &str = "idle_timeout";
    pub const ANNOUNCE_CHANNEL: &str = "announce_channel";
    pub const CLEAR_DJ_ROLE: &str = "clear_dj_role";
    pub const CLEAR_ANNOUNCE_CHANNEL: &str = "clear_announce_channel";
    pub const GUILD: &str = "guild";
    pub const NOTE: &str = "note";
    pub const PLATFORM: &str = "platform";
    pub const SHUFFLE: &str = "shuffle";
    pub const SCOPE: &str = "scope";
    pub const NAME: &str = "name";
    pub const STAY: &str = "stay";
    pub const AUTOPLAY: &str = "autoplay";
}

/// Custom ids of the linked-account and library messages' components. Each is at most
/// Discord's 100 characters; a variable part comes last.
pub mod library {
    /// "I've approved it": one token request for the pending YouTube link.
    pub const YOUTUBE_CHECK: &str = "acct:yt-check";
    /// Opens the "Paste the link" form (Spotify, when no callback can be reached).
    pub const SPOTIFY_PASTE: &str = "acct:sp-paste";
    pub const SPOTIFY_FORM: &str = "acct:sp-form";
    pub const SPOTIFY_FORM_URL: &str = "acct:sp-url";
    /// The playlist menu: `lib:pick:<platform>`, the option's value the playlist id.
    pub const PICK: &str = "lib:pick:";
    /// The playlist menu's page buttons: `lib:page:<platform>:<cursor>`.
    pub const PAGE: &str = "lib:page:";
    /// Queue this again (history, recommendations): `lib:again:<query>`.
    pub const AGAIN: &str = "lib:again:";
    /// Discord's limit on a custom id.
    pub const CUSTOM_ID_MAX: usize = 100;
    /// The lyrics' page buttons: `lyrics:<LRCLIB id>:<page>`.
    pub const LYRICS_PAGE: &str = "lyrics:";
}

/// Custom ids of the now-playing message's buttons: the worker posts them, the command core
/// handles the presses.
pub mod buttons {
    pub const PAUSE_RESUME: &str = "np:pause";
    pub const SKIP: &str = "np:skip";
    pub const PREVIOUS: &str = "np:previous";
    pub const STOP: &str = "np:stop";
    pub const LOOP: &str = "np:loop";
    pub const SHUFFLE: &str = "np:shuffle";
    /// The prefix of the queue's page buttons: `queue:<page>`.
    pub const QUEUE_PAGE: &str = "queue:";
}

/// Bounds of `/settings idle_timeout`, in minutes.
pub const IDLE_MINUTES: std::ops::RangeInclusive<i64> = 1..=60;
/// Longest `/allowlist add note`.
pub const NOTE_MAX: u16 = 200;

fn platform() -> StringBuilder {
    StringBuilder::new(opt::PLATFORM, "Which account")
        .choices([("YouTube", "youtube"), ("Spotify", "spotify")])
}

/// `/playlist save|load|list|show|delete`: the server's saved playlists.
fn playlist_spec() -> CommandBuilder {
    let name = |required| {
        let max = u16::try_from(PLAYLIST_NAME_MAX).unwrap_or(u16::MAX);
        StringBuilder::new(opt::NAME, "The playlist's name")
            .required(required)
            .max_length(max)
    };
    CommandBuilder::new(
        name::PLAYLIST,
        "Save the queue as a playlist, or play one this server saved",
        CommandType::ChatInput,
    )
    .contexts([InteractionContextType::Guild])
    .option(SubCommandBuilder::new(name::SAVE, "Save the queue under a name").option(name(true)))
    .option(
        SubCommandBuilder::new(name::LOAD, "Queue a saved playlist")
            .option(name(true).autocomplete(true))
            .option(BooleanBuilder::new(opt::SHUFFLE, "Shuffle it")),
    )
    .option(SubCommandBuilder::new(
        name::LIST,
        "Show this server's saved playlists",
    ))
    .option(
        SubCommandBuilder::new(name::SHOW, "Show a saved playlist's tracks")
            .option(name(true).autocomplete(true)),
    )
    .option(
        SubCommandBuilder::new(name::DELETE, "Delete a saved playlist")
            .option(name(true).autocomplete(true)),
    )
}

/// Every command, validated against Discord's limits.
pub fn specs() -> Result<Vec<CommandSpec>, CommandValidationError> {
    let cap = i64::try_from(QUEUE_CAP).unwrap_or(i64::MAX);
    let position = |name: &str, what: &str| {
        IntegerBuilder::new(name, what)
            .required(true)
            .min_value(1)
            .max_value(cap)
    };
    let music = |name: &str, description: &str| {
        CommandBuilder::new(name, description, CommandType::ChatInput)
            .contexts([InteractionContextType::Guild])
    };
    let guild_option = || {
        StringBuilder::new(opt::GUILD, "The server's id; this server if left out").max_length(20)
    };
    let query_len = u16::try_from(QUERY_MAX).unwrap_or(u16::MAX);
    [
        music(
            name::PLAY,
            "Play a song or playlist: a link, or words to search for",
        )
        .option(
            StringBuilder::new(
                opt::QUERY,
                "A YouTube, SoundCloud or Spotify link, an audio URL, or a search",
            )
            .required(true)
            .autocomplete(true)
            .max_length(query_len),
        )
        .option(BooleanBuilder::new(
            opt::NEXT,
            "Put it next in the queue instead of at the end",
        )),
        music(name::QUEUE, "Show the queue").option(
            IntegerBuilder::new(opt::PAGE, "Which page")
                .min_value(1)
                .max_value(cap),
        ),
        music(name::NOW_PLAYING, "Show what is playing"),
        music(name::SKIP, "Skip the current track"),
        music(name::PREVIOUS, "Play the track before this one again"),
        music(name::STOP, "Stop playing and empty the queue"),
        music(name::PAUSE, "Pause playback"),
        music(name::RESUME, "Resume playback"),
        music(name::SEEK, "Jump to a point in the current track").option(
            StringBuilder::new(opt::POSITION, "Where to jump to, such as 1:23 or 83")
                .required(true)
                .max_length(12),
        ),
        music(name::VOLUME, "Set the volume").option(
            IntegerBuilder::new(opt::PERCENT, "0 to 200; 100 is normal")
                .required(true)
                .min_value(0)
                .max_value(i64::from(Volume::MAX)),
        ),
        music(name::LOOP, "Repeat the current track or the whole queue").option(
            StringBuilder::new(opt::MODE, "What to repeat")
                .required(true)
                .choices([
                    ("off", "off"),
                    ("the current track", "track"),
                    ("the whole queue", "queue"),
                ]),
        ),
        music(name::SHUFFLE, "Shuffle the upcoming tracks"),
        music(name::REMOVE, "Remove a track from the queue")
            .option(position(opt::POSITION, "Its number in /queue")),
        music(name::MOVE, "Move a track to another place in the queue")
            .option(position(opt::FROM, "Its number in /queue now"))
            .option(position(opt::TO, "The number it should have")),
        music(name::CLEAR, "Empty the queue; the current track plays on"),
        music(name::JOIN, "Join your voice channel"),
        music(name::LEAVE, "Leave the voice channel"),
        music(
            name::SETTINGS,
            "Show or change this server's TimmyBot settings (Manage Server)",
        )
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(RoleBuilder::new(
            opt::DJ_ROLE,
            "Only this role (and Manage Server) may control playback",
        ))
        .option(
            IntegerBuilder::new(
                opt::IDLE_TIMEOUT,
                "Minutes alone or silent before the bot leaves",
            )
            .min_value(*IDLE_MINUTES.start())
            .max_value(*IDLE_MINUTES.end()),
        )
        .option(
            ChannelBuilder::new(opt::ANNOUNCE_CHANNEL, "Where now-playing messages go")
                .channel_types([ChannelType::GuildText]),
        )
        .option(BooleanBuilder::new(
            opt::CLEAR_DJ_ROLE,
            "Let everyone control playback again",
        ))
        .option(BooleanBuilder::new(
            opt::CLEAR_ANNOUNCE_CHANNEL,
            "Post now-playing where commands are used",
        ))
        .option(BooleanBuilder::new(
            opt::STAY,
            "24/7: stay in the voice channel when the queue ends or everyone leaves",
        ))
        .option(BooleanBuilder::new(
            opt::AUTOPLAY,
            "When the queue runs out, keep playing songs like the last ones",
        )),
        CommandBuilder::new(
            name::ALLOWLIST,
            "Choose the servers this bot serves (bot owners only)",
            CommandType::ChatInput,
        )
        .contexts([InteractionContextType::Guild, InteractionContextType::BotDm])
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(
            SubCommandBuilder::new(name::ADD, "Let a server use the bot")
                .option(guild_option())
                .option(
                    StringBuilder::new(opt::NOTE, "A note for later, such as who asked")
                        .max_length(NOTE_MAX),
                ),
        )
        .option(
            SubCommandBuilder::new(name::REMOVE_GUILD, "Stop serving a server")
                .option(guild_option()),
        )
        .option(SubCommandBuilder::new(
            name::LIST,
            "Show every allowed server",
        ))
        .option(SubCommandBuilder::new(
            name::REQUESTS,
            "Show the servers waiting for a decision",
        )),
        CommandBuilder::new(
            name::AUDIT,
            "Who changed what: the allowlist, access decisions, settings (bot owners only)",
            CommandType::ChatInput,
        )
        .contexts([InteractionContextType::Guild, InteractionContextType::BotDm])
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(guild_option()),
        music(
            name::AUTH_YOUTUBE,
            "Link your YouTube account to play your own playlists and liked videos",
        ),
        music(
            name::AUTH_SPOTIFY,
            "Link your Spotify account to play your own playlists and liked songs",
        ),
        music(name::CHECK_AUTH, "Show which accounts you have linked"),
        music(name::UNLINK, "Unlink an account and delete its tokens")
            .option(platform().required(true)),
        music(name::MY_PLAYLISTS, "Pick one of your own playlists to play").option(platform()),
        music(name::LIKED_SONGS, "Play the songs you liked")
            .option(platform())
            .option(BooleanBuilder::new(opt::SHUFFLE, "Shuffle them")),
        music(
            name::PLAY_HISTORY,
            "What was played here lately, to queue again",
        )
        .option(
            StringBuilder::new(opt::SCOPE, "Whose plays")
                .choices([("mine", "me"), ("this server's", "server")]),
        ),
        music(
            name::RECOMMENDATIONS,
            "Suggestions from what you and this server played",
        ),
        playlist_spec(),
        music(
            name::SEARCH,
            "Search YouTube and pick one of the top results to play",
        )
        .option(
            StringBuilder::new(opt::QUERY, "What to search for")
                .required(true)
                .max_length(200),
        ),
        music(
            name::LYRICS,
            "Lyrics of what is playing, or of a song you name",
        )
        .option(
            StringBuilder::new(opt::QUERY, "Artist and title; what is playing if left out")
                .max_length(200),
        ),
    ]
    .into_iter()
    .map(|c| c.validate().map(CommandBuilder::build))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_spec_passes_discords_validation_and_names_are_unique() {
        let specs = specs().expect("valid specs");
        let names: HashSet<&str> = specs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), specs.len());
        // Discord allows 100 global chat commands.
        assert!(specs.len() <= 100);
    }

    #[test]
    fn play_autocompletes_and_bounds_its_query() {
        let specs = specs().unwrap();
        let play = specs.iter().find(|c| c.name == name::PLAY).unwrap();
        let query = &play.options[0];
        assert_eq!(query.autocomplete, Some(true));
        assert_eq!(query.required, Some(true));
        assert_eq!(query.max_length, Some(2048));
    }
}
