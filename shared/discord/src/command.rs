//! A slash command as the core sees it: parsed once from Discord's `CommandData`, with the
//! option names of [`crate::spec`], into typed values. Each parse error is a sentence for
//! the user.

use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};

use timmybot_domain::intent::QUERY_MAX;
use timmybot_domain::{ChannelId, GuildId, LoopMode, Platform, RoleId, Volume};

use crate::ids::FromTwilight;
use crate::playlist::PlaylistCommand;
use crate::spec::{name, opt, IDLE_MINUTES};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Play {
        query: String,
        next: bool,
    },
    Queue {
        page: usize,
    },
    NowPlaying,
    Skip,
    Previous,
    Stop,
    Pause,
    Resume,
    Seek {
        position_ms: u64,
    },
    Volume {
        volume: Volume,
    },
    Loop {
        mode: LoopMode,
    },
    Shuffle,
    Remove {
        position: usize,
    },
    Move {
        from: usize,
        to: usize,
    },
    Clear,
    Join,
    Leave,
    Settings(SettingsChange),
    Allowlist(Allowlist),
    /// The audit log: of one guild, or (`None`) the bot's own.
    Audit {
        guild: Option<GuildId>,
    },
    AuthYoutube,
    AuthSpotify,
    CheckAuth,
    Unlink {
        platform: Platform,
    },
    /// `None`: every linked platform.
    MyPlaylists {
        platform: Option<Platform>,
    },
    LikedSongs {
        platform: Option<Platform>,
        shuffle: bool,
    },
    PlayHistory {
        scope: HistoryScope,
    },
    Recommendations,
    Playlist(PlaylistCommand),
    Search {
        query: String,
    },
    /// `None`: the current track.
    Lyrics {
        query: Option<String>,
    },
}

/// `/play-history`: the user's own plays here, or everyone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryScope {
    Me,
    Server,
}

/// `/settings`: what to change; nothing set means "show the settings".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub dj_role: Option<RoleId>,
    pub idle_timeout_minutes: Option<u32>,
    pub announce_channel: Option<ChannelId>,
    pub clear_dj_role: bool,
    pub clear_announce_channel: bool,
    pub stay: Option<bool>,
    pub autoplay: Option<bool>,
}

/// `/allowlist`: a guild of `None` means the one the command was used in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowlist {
    Add {
        guild: Option<GuildId>,
        note: String,
    },
    Remove {
        guild: Option<GuildId>,
    },
    List,
    Requests,
}

/// Why a command's options do not make a command. The text is shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("`/{0}` isn't something this version of TimmyBot can do.")]
    Unknown(String),
    #[error("`{0}` is required.")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
}

impl Command {
    pub fn parse(data: &CommandData) -> Result<Self, ArgError> {
        let a = Args(data.options.as_slice());
        Ok(match data.name.as_str() {
            name::PLAY => {
                let query = a.string(opt::QUERY).map(str::trim).unwrap_or_default();
                if query.is_empty() || query.len() > QUERY_MAX {
                    return Err(ArgError::Invalid(format!(
                        "Give me a link or something to search for (up to {QUERY_MAX} characters)."
                    )));
                }
                Self::Play {
                    query: query.to_owned(),
                    next: a.boolean(opt::NEXT).unwrap_or(false),
                }
            }
            name::QUEUE => Self::Queue {
                page: a
                    .integer(opt::PAGE)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(1)
                    .max(1),
            },
            name::NOW_PLAYING => Self::NowPlaying,
            name::SKIP => Self::Skip,
            name::PREVIOUS => Self::Previous,
            name::STOP => Self::Stop,
            name::PAUSE => Self::Pause,
            name::RESUME => Self::Resume,
            name::SEEK => Self::Seek {
                position_ms: parse_timestamp(a.string(opt::POSITION).unwrap_or_default())
                    .ok_or_else(|| {
                        ArgError::Invalid(
                            "Say where to seek as `1:23`, `1:02:03` or seconds.".into(),
                        )
                    })?,
            },
            name::VOLUME => Self::Volume {
                volume: a
                    .integer(opt::PERCENT)
                    .and_then(|n| u32::try_from(n).ok())
                    .and_then(|n| Volume::parse(n).ok())
                    .ok_or_else(|| {
                        ArgError::Invalid(format!("Volume must be between 0 and {}%.", Volume::MAX))
                    })?,
            },
            name::LOOP => Self::Loop {
                mode: a
                    .string(opt::MODE)
                    .and_then(LoopMode::parse)
                    .ok_or_else(|| {
                        ArgError::Invalid("Loop mode must be `off`, `track` or `queue`.".into())
                    })?,
            },
            name::SHUFFLE => Self::Shuffle,
            name::REMOVE => Self::Remove {
                position: a.position(opt::POSITION)?,
            },
            name::MOVE => Self::Move {
                from: a.position(opt::FROM)?,
                to: a.position(opt::TO)?,
            },
            name::CLEAR => Self::Clear,
            name::JOIN => Self::Join,
            name::LEAVE => Self::Leave,
            name::SETTINGS => Self::Settings(settings(&a)?),
            name::ALLOWLIST => Self::Allowlist(allowlist(data.options.first())?),
            name::AUDIT => Self::Audit {
                guild: guild_id(&a)?,
            },
            name::AUTH_YOUTUBE => Self::AuthYoutube,
            name::AUTH_SPOTIFY => Self::AuthSpotify,
            name::CHECK_AUTH => Self::CheckAuth,
            name::UNLINK => Self::Unlink {
                platform: a.platform()?.ok_or(ArgError::Missing(opt::PLATFORM))?,
            },
            name::MY_PLAYLISTS => Self::MyPlaylists {
                platform: a.platform()?,
            },
            name::LIKED_SONGS => Self::LikedSongs {
                platform: a.platform()?,
                shuffle: a.boolean(opt::SHUFFLE).unwrap_or(false),
            },
            name::PLAY_HISTORY => Self::PlayHistory {
                scope: match a.string(opt::SCOPE) {
                    None | Some("me") => HistoryScope::Me,
                    Some("server") => HistoryScope::Server,
                    Some(_) => {
                        return Err(ArgError::Invalid("Scope must be `me` or `server`.".into()))
                    }
                },
            },
            name::RECOMMENDATIONS => Self::Recommendations,
            name::PLAYLIST => Self::Playlist(crate::playlist::parse(data.options.first())?),
            name::SEARCH => {
                let query = a.string(opt::QUERY).map(str::trim).unwrap_or_default();
                if query.is_empty() || query.chars().count() > 200 {
                    return Err(ArgError::Invalid(
                        "Give me something to search for (up to 200 characters).".into(),
                    ));
                }
                Self::Search {
                    query: query.to_owned(),
                }
            }
            name::LYRICS => Self::Lyrics {
                query: a
                    .string(opt::QUERY)
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(|q| q.chars().take(200).collect()),
            },
            other => return Err(ArgError::Unknown(other.chars().take(32).collect())),
        })
    }

    /// The command's name, as registered: for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Play { .. } => name::PLAY,
            Self::Queue { .. } => name::QUEUE,
            Self::NowPlaying => name::NOW_PLAYING,
            Self::Skip => name::SKIP,
            Self::Previous => name::PREVIOUS,
            Self::Stop => name::STOP,
            Self::Pause => name::PAUSE,
            Self::Resume => name::RESUME,
            Self::Seek { .. } => name::SEEK,
            Self::Volume { .. } => name::VOLUME,
            Self::Loop { .. } => name::LOOP,
            Self::Shuffle => name::SHUFFLE,
            Self::Remove { .. } => name::REMOVE,
            Self::Move { .. } => name::MOVE,
            Self::Clear => name::CLEAR,
            Self::Join => name::JOIN,
            Self::Leave => name::LEAVE,
            Self::Settings(_) => name::SETTINGS,
            Self::Allowlist(_) => name::ALLOWLIST,
            Self::Audit { .. } => name::AUDIT,
            Self::AuthYoutube => name::AUTH_YOUTUBE,
            Self::AuthSpotify => name::AUTH_SPOTIFY,
            Self::CheckAuth => name::CHECK_AUTH,
            Self::Unlink { .. } => name::UNLINK,
            Self::MyPlaylists { .. } => name::MY_PLAYLISTS,
            Self::LikedSongs { .. } => name::LIKED_SONGS,
            Self::PlayHistory { .. } => name::PLAY_HISTORY,
            Self::Recommendations => name::RECOMMENDATIONS,
            Self::Playlist(_) => name::PLAYLIST,
            Self::Search { .. } => name::SEARCH,
            Self::Lyrics { .. } => name::LYRICS,
        }
    }
}

fn settings(a: &Args<'_>) -> Result<SettingsChange, ArgError> {
    let idle_timeout_minutes = match a.integer(opt::IDLE_TIMEOUT) {
        None => None,
        Some(m) if IDLE_MINUTES.contains(&m) => u32::try_from(m).ok(),
        Some(_) => {
            return Err(ArgError::Invalid(format!(
                "The idle timeout must be {} to {} minutes.",
                IDLE_MINUTES.start(),
                IDLE_MINUTES.end()
            )))
        }
    };
    Ok(SettingsChange {
        dj_role: a.find(opt::DJ_ROLE).and_then(|v| match v {
            CommandOptionValue::Role(id) => Some(RoleId::from_twilight(*id)),
            _ => None,
        }),
        idle_timeout_minutes,
        announce_channel: a.find(opt::ANNOUNCE_CHANNEL).and_then(|v| match v {
            CommandOptionValue::Channel(id) => Some(ChannelId::from_twilight(*id)),
            _ => None,
        }),
        clear_dj_role: a.boolean(opt::CLEAR_DJ_ROLE) == Some(true),
        clear_announce_channel: a.boolean(opt::CLEAR_ANNOUNCE_CHANNEL) == Some(true),
        stay: a.boolean(opt::STAY),
        autoplay: a.boolean(opt::AUTOPLAY),
    })
}

fn allowlist(sub: Option<&CommandDataOption>) -> Result<Allowlist, ArgError> {
    let usage = || {
        ArgError::Invalid(
            "Use `/allowlist add`, `/allowlist remove`, `/allowlist list` or `/allowlist requests`."
                .into(),
        )
    };
    let sub = sub.ok_or_else(usage)?;
    let args = match &sub.value {
        CommandOptionValue::SubCommand(args) => Args(args.as_slice()),
        _ => return Err(usage()),
    };
    Ok(match sub.name.as_str() {
        name::ADD => Allowlist::Add {
            guild: guild_id(&args)?,
            note: args.string(opt::NOTE).unwrap_or_default().to_owned(),
        },
        name::REMOVE_GUILD => Allowlist::Remove {
            guild: guild_id(&args)?,
        },
        name::LIST => Allowlist::List,
        name::REQUESTS => Allowlist::Requests,
        _ => return Err(usage()),
    })
}

/// The `guild` option: a server id, if given.
fn guild_id(args: &Args<'_>) -> Result<Option<GuildId>, ArgError> {
    args.string(opt::GUILD)
        .map(|raw| {
            GuildId::parse(raw.trim())
                .map_err(|e| ArgError::Invalid(format!("That is not a server id: {e}.")))
        })
        .transpose()
}

/// A command's options, looked up by name.
pub(crate) struct Args<'a>(pub(crate) &'a [CommandDataOption]);

impl Args<'_> {
    fn find(&self, name: &str) -> Option<&CommandOptionValue> {
        self.0.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.find(name)? {
            CommandOptionValue::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn integer(&self, name: &str) -> Option<i64> {
        match self.find(name)? {
            CommandOptionValue::Integer(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Option<bool> {
        match self.find(name)? {
            CommandOptionValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// `youtube` or `spotify`, if given.
    fn platform(&self) -> Result<Option<Platform>, ArgError> {
        match self.string(opt::PLATFORM) {
            None => Ok(None),
            Some("youtube") => Ok(Some(Platform::Youtube)),
            Some("spotify") => Ok(Some(Platform::Spotify)),
            Some(_) => Err(ArgError::Invalid(
                "Platform must be `youtube` or `spotify`.".into(),
            )),
        }
    }

    /// A 1-based queue position; out-of-range values fail in the queue, with its length.
    fn position(&self, name: &'static str) -> Result<usize, ArgError> {
        let n = self.integer(name).ok_or(ArgError::Missing(name))?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ArgError::Invalid(format!("`{name}` must be 1 or more.")))
    }
}

/// What the user has typed so far into `/play`'s query, for autocomplete.
pub fn focused_query(data: &CommandData) -> Option<&str> {
    data.options.iter().find_map(|o| match &o.value {
        CommandOptionValue::Focused(text, _) if o.name == opt::QUERY => Some(text.as_str()),
        _ => None,
    })
}

/// `83`, `1:23` or `1:02:03` to milliseconds.
pub fn parse_timestamp(raw: &str) -> Option<u64> {
    let parts: Vec<&str> = raw.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty() || p.len() > 6) {
        return None;
    }
    let mut secs: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let n: u64 = p.parse().ok()?;
        if i > 0 && n >= 60 {
            return None;
        }
        secs = secs.checked_mul(60)?.checked_add(n)?;
    }
    secs.checked_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::application::command::{CommandOptionType, CommandType};
    use twilight_model::id::Id;

    fn data(name: &str, options: Vec<CommandDataOption>) -> CommandData {
        CommandData {
            guild_id: None,
            id: Id::new(1),
            name: name.into(),
            kind: CommandType::ChatInput,
            options,
            resolved: None,
            target_id: None,
        }
    }

    fn o(name: &str, value: CommandOptionValue) -> CommandDataOption {
        CommandDataOption {
            name: name.into(),
            value,
        }
    }

    /// The least each registered command needs, by the spec's own required options.
    fn minimal(spec: &twilight_model::application::command::Command) -> CommandData {
        let options = spec
            .options
            .iter()
            .filter(|o| o.required == Some(true))
            .map(|o| {
                let value = match o.kind {
                    CommandOptionType::String if o.name == opt::POSITION => {
                        CommandOptionValue::String("1:00".into())
                    }
                    CommandOptionType::String => CommandOptionValue::String(
                        o.choices
                            .as_ref()
                            .and_then(|c| c.first())
                            .and_then(|c| match &c.value {
                                twilight_model::application::command::CommandOptionChoiceValue::String(s) => Some(s.clone()),
                                _ => None,
                            })
                            .unwrap_or_else(|| "x".into()),
                    ),
                    CommandOptionType::Integer => CommandOptionValue::Integer(1),
                    _ => CommandOptionValue::Boolean(true),
                };
                CommandDataOption {
                    name: o.name.clone(),
                    value,
                }
            })
            .collect();
        let mut d = data(&spec.name, options);
        if spec.name == name::ALLOWLIST || spec.name == name::PLAYLIST {
            d.options = vec![o(name::LIST, CommandOptionValue::SubCommand(vec![]))];
        }
        d
    }

    #[test]
    fn every_registered_command_parses_under_its_own_name() {
        for spec in crate::spec::specs().unwrap() {
            let command = Command::parse(&minimal(&spec))
                .unwrap_or_else(|e| panic!("/{} does not parse: {e}", spec.name));
            assert_eq!(command.name(), spec.name);
        }
    }

    #[test]
    fn options_become_typed_values() {
        let play = data(
            name::PLAY,
            vec![
                o(
                    opt::QUERY,
                    CommandOptionValue::String("  never gonna ".into()),
                ),
                o(opt::NEXT, CommandOptionValue::Boolean(true)),
            ],
        );
        assert_eq!(
            Command::parse(&play),
            Ok(Command::Play {
                query: "never gonna".into(),
                next: true
            })
        );
        let seek = data(
            name::SEEK,
            vec![o(
                opt::POSITION,
                CommandOptionValue::String("1:02:03".into()),
            )],
        );
        assert_eq!(
            Command::parse(&seek),
            Ok(Command::Seek {
                position_ms: 3_723_000
            })
        );
        let moved = data(
            name::MOVE,
            vec![
                o(opt::FROM, CommandOptionValue::Integer(3)),
                o(opt::TO, CommandOptionValue::Integer(1)),
            ],
        );
        assert_eq!(Command::parse(&moved), Ok(Command::Move { from: 3, to: 1 }));
    }

    #[test]
    fn bad_options_are_sentences_for_the_user() {
        let err = |d: CommandData| Command::parse(&d).unwrap_err().to_string();
        assert!(err(data(name::PLAY, vec![])).starts_with("Give me a link"));
        let long = "x".repeat(QUERY_MAX + 1);
        assert!(err(data(
            name::PLAY,
            vec![o(opt::QUERY, CommandOptionValue::String(long))]
        ))
        .starts_with("Give me a link"));
        assert_eq!(err(data(name::REMOVE, vec![])), "`position` is required.");
        assert_eq!(
            err(data(
                name::REMOVE,
                vec![o(opt::POSITION, CommandOptionValue::Integer(0))]
            )),
            "`position` must be 1 or more."
        );
        assert!(err(data(
            name::VOLUME,
            vec![o(opt::PERCENT, CommandOptionValue::Integer(201))]
        ))
        .contains("between 0 and 200%"));
        assert!(err(data(
            name::SETTINGS,
            vec![o(opt::IDLE_TIMEOUT, CommandOptionValue::Integer(61))]
        ))
        .contains("1 to 60 minutes"));
        let bad_guild = data(
            name::ALLOWLIST,
            vec![o(
                name::ADD,
                CommandOptionValue::SubCommand(vec![o(
                    opt::GUILD,
                    CommandOptionValue::String("abc".into()),
                )]),
            )],
        );
        assert!(err(bad_guild).starts_with("That is not a server id"));
        assert!(err(data("explode", vec![])).contains("`/explode`"));
    }

    #[test]
    fn timestamps_parse_like_a_person_writes_them() {
        assert_eq!(parse_timestamp("83"), Some(83_000));
        assert_eq!(parse_timestamp("1:23"), Some(83_000));
        assert_eq!(parse_timestamp(" 1:02:03 "), Some(3_723_000));
        for bad in ["", "1:60", "a", "1::2", "1:2:3:4", "-5", "9999999"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
