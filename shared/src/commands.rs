//! The slash commands TimmyBot registers, built with twilight-util's builders.
//!
//! Only commands the command core handles are listed: registering one that does nothing
//! would show users a command that only apologises. The premium group joins this list with
//! its implementation.

use twilight_model::application::command::{Command, CommandType};
use twilight_model::application::interaction::InteractionContextType;
use twilight_model::channel::ChannelType;
use twilight_model::guild::Permissions;
use twilight_util::builder::command::{
    BooleanBuilder, ChannelBuilder, CommandBuilder, IntegerBuilder, RoleBuilder, StringBuilder,
    SubCommandBuilder,
};
use twilight_validate::command::CommandValidationError;

use crate::domain::intent::QUERY_MAX;
use crate::domain::queue::{Volume, QUEUE_CAP};

/// Every command, validated against Discord's limits.
pub fn specs() -> Result<Vec<Command>, CommandValidationError> {
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
    let query_len = u16::try_from(QUERY_MAX).unwrap_or(u16::MAX);
    [
        music(
            "play",
            "Play a song or playlist: a link, or words to search for",
        )
        .option(
            StringBuilder::new(
                "query",
                "A YouTube, SoundCloud or Spotify link, an audio URL, or a search",
            )
            .required(true)
            .autocomplete(true)
            .max_length(query_len),
        )
        .option(BooleanBuilder::new(
            "next",
            "Put it next in the queue instead of at the end",
        )),
        music("queue", "Show the queue").option(
            IntegerBuilder::new("page", "Which page")
                .min_value(1)
                .max_value(cap),
        ),
        music("now-playing", "Show what is playing"),
        music("skip", "Skip the current track"),
        music("stop", "Stop playing and empty the queue"),
        music("pause", "Pause playback"),
        music("resume", "Resume playback"),
        music("seek", "Jump to a point in the current track").option(
            StringBuilder::new("position", "Where to jump to, such as 1:23 or 83")
                .required(true)
                .max_length(12),
        ),
        music("volume", "Set the volume").option(
            IntegerBuilder::new("percent", "0 to 200; 100 is normal")
                .required(true)
                .min_value(0)
                .max_value(i64::from(Volume::MAX)),
        ),
        music("loop", "Repeat the current track or the whole queue").option(
            StringBuilder::new("mode", "What to repeat")
                .required(true)
                .choices([
                    ("off", "off"),
                    ("the current track", "track"),
                    ("the whole queue", "queue"),
                ]),
        ),
        music("shuffle", "Shuffle the upcoming tracks"),
        music("remove", "Remove a track from the queue")
            .option(position("position", "Its number in /queue")),
        music("move", "Move a track to another place in the queue")
            .option(position("from", "Its number in /queue now"))
            .option(position("to", "The number it should have")),
        music("clear", "Empty the queue; the current track plays on"),
        music("join", "Join your voice channel"),
        music("leave", "Leave the voice channel"),
        music(
            "settings",
            "Show or change this server's TimmyBot settings (Manage Server)",
        )
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(RoleBuilder::new(
            "dj_role",
            "Only this role (and Manage Server) may control playback",
        ))
        .option(
            IntegerBuilder::new(
                "idle_timeout",
                "Minutes alone or silent before the bot leaves",
            )
            .min_value(1)
            .max_value(60),
        )
        .option(
            ChannelBuilder::new("announce_channel", "Where now-playing messages go")
                .channel_types([ChannelType::GuildText]),
        )
        .option(BooleanBuilder::new(
            "clear_dj_role",
            "Let everyone control playback again",
        ))
        .option(BooleanBuilder::new(
            "clear_announce_channel",
            "Post now-playing where commands are used",
        )),
        CommandBuilder::new(
            "allowlist",
            "Choose the servers this bot serves (bot owners only)",
            CommandType::ChatInput,
        )
        .contexts([InteractionContextType::Guild, InteractionContextType::BotDm])
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(
            SubCommandBuilder::new("add", "Let a server use the bot")
                .option(
                    StringBuilder::new("guild", "The server's id; this server if left out")
                        .max_length(20),
                )
                .option(
                    StringBuilder::new("note", "A note for later, such as who asked")
                        .max_length(200),
                ),
        )
        .option(
            SubCommandBuilder::new("remove", "Stop serving a server").option(
                StringBuilder::new("guild", "The server's id; this server if left out")
                    .max_length(20),
            ),
        )
        .option(SubCommandBuilder::new("list", "Show every allowed server")),
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
        for needed in ["play", "queue", "now-playing", "skip", "allowlist"] {
            assert!(names.contains(needed), "{needed} is missing");
        }
    }

    #[test]
    fn play_autocompletes_and_bounds_its_query() {
        let specs = specs().unwrap();
        let play = specs.iter().find(|c| c.name == "play").unwrap();
        let query = &play.options[0];
        assert_eq!(query.autocomplete, Some(true));
        assert_eq!(query.required, Some(true));
        assert_eq!(query.max_length, Some(2048));
    }
}

/// Custom ids of the now-playing message's buttons: the worker posts them, the interactions
/// endpoint handles the presses.
pub mod buttons {
    pub const PAUSE_RESUME: &str = "np:pause";
    pub const SKIP: &str = "np:skip";
    pub const STOP: &str = "np:stop";
    pub const LOOP: &str = "np:loop";
    pub const SHUFFLE: &str = "np:shuffle";
}
