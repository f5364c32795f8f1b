//! What a dashboard button stands for. Each control form posts `op` (the pressed button's
//! value) and the fields it needs; this turns them into the very [`Command`] the slash
//! command would be, or a sentence saying what is wrong. Every field is bounded here.

use serde::Deserialize;

use timmybot_discord::access::Decision;
use timmybot_discord::command::{Allowlist, Command};
use timmybot_domain::intent::QUERY_MAX;
use timmybot_domain::queue::QUEUE_CAP;
use timmybot_domain::{GuildId, LoopMode, Volume};

/// A guild page's form, as posted.
#[derive(Debug, Default, Deserialize)]
pub struct ControlForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub op: String,
    pub percent: Option<String>,
    pub mode: Option<String>,
    pub query: Option<String>,
    pub next: Option<String>,
    /// The queue page being shown, so the answer shows the same one.
    pub page: Option<String>,
}

/// An owner page's form, as posted.
#[derive(Debug, Default, Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub op: String,
    pub guild: Option<String>,
    pub note: Option<String>,
}

/// A note on the allowlist, as `/allowlist add` bounds it.
const NOTE_MAX: usize = 200;

pub fn command(form: &ControlForm) -> Result<Command, String> {
    let (verb, arg) = form.op.split_once(':').unwrap_or((form.op.as_str(), ""));
    let position = || {
        arg.parse::<usize>()
            .ok()
            .filter(|p| (1..=QUEUE_CAP).contains(p))
            .ok_or_else(|| "That isn't a position in the queue.".to_owned())
    };
    Ok(match verb {
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "skip" => Command::Skip,
        "previous" => Command::Previous,
        "shuffle" => Command::Shuffle,
        "volume" => {
            let percent = form
                .percent
                .as_deref()
                .and_then(|p| p.trim().parse::<u32>().ok())
                .and_then(|p| Volume::parse(p).ok())
                .ok_or_else(|| "Volume is a whole number from 0 to 200.".to_owned())?;
            Command::Volume { volume: percent }
        }
        "loop" => {
            let mode = form
                .mode
                .as_deref()
                .and_then(LoopMode::parse)
                .ok_or_else(|| "Loop is off, track or queue.".to_owned())?;
            Command::Loop { mode }
        }
        "play" => {
            let query = form.query.as_deref().unwrap_or("").trim();
            if query.is_empty() || query.len() > QUERY_MAX {
                return Err(format!(
                    "Type a song, a search or a link (at most {QUERY_MAX} characters)."
                ));
            }
            Command::Play {
                query: query.to_owned(),
                next: form.next.is_some(),
            }
        }
        "remove" => Command::Remove {
            position: position()?,
        },
        "up" | "down" | "top" => {
            let from = position()?;
            let to = match verb {
                "up" => from.saturating_sub(1),
                "down" => from + 1,
                _ => 1,
            };
            if to == 0 || to == from {
                return Err("It is already there.".to_owned());
            }
            Command::Move { from, to }
        }
        _ => return Err("That button isn't something this version of TimmyBot knows.".into()),
    })
}

/// What an owner asked for.
pub fn owner_action(form: &OwnerForm) -> Result<timmybot_commands::OwnerAction, String> {
    use timmybot_commands::OwnerAction;
    let (verb, arg) = form.op.split_once(':').unwrap_or((form.op.as_str(), ""));
    let guild = |raw: &str| {
        GuildId::parse(raw.trim())
            .map_err(|_| "A server id is a number like 123456789012345678.".to_owned())
    };
    Ok(match verb {
        "allow" => {
            let note: String = form
                .note
                .as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .take(NOTE_MAX)
                .collect();
            OwnerAction::Allowlist(Allowlist::Add {
                guild: Some(guild(form.guild.as_deref().unwrap_or(""))?),
                note,
            })
        }
        "revoke" => OwnerAction::Allowlist(Allowlist::Remove {
            guild: Some(guild(arg)?),
        }),
        "approve" => OwnerAction::Decide(Decision::Approve(guild(arg)?)),
        "deny" => OwnerAction::Decide(Decision::Deny(guild(arg)?)),
        _ => return Err("That button isn't something this version of TimmyBot knows.".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(op: &str) -> ControlForm {
        ControlForm {
            op: op.into(),
            ..ControlForm::default()
        }
    }

    #[test]
    fn buttons_become_the_slash_commands() {
        assert!(matches!(command(&form("skip")), Ok(Command::Skip)));
        assert!(matches!(
            command(&form("up:3")),
            Ok(Command::Move { from: 3, to: 2 })
        ));
        assert!(matches!(
            command(&form("down:3")),
            Ok(Command::Move { from: 3, to: 4 })
        ));
        assert!(matches!(
            command(&form("top:9")),
            Ok(Command::Move { from: 9, to: 1 })
        ));
        assert!(matches!(
            command(&form("remove:2")),
            Ok(Command::Remove { position: 2 })
        ));
        let mut f = form("volume");
        f.percent = Some("150".into());
        assert!(matches!(command(&f), Ok(Command::Volume { volume }) if volume.percent() == 150));
        let mut f = form("play");
        f.query = Some("  never gonna  ".into());
        f.next = Some("on".into());
        assert!(
            matches!(command(&f), Ok(Command::Play { query, next: true }) if query == "never gonna")
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_sentence() {
        for op in [
            "up:1",
            "up:0",
            "remove:x",
            "remove:99999",
            "top:1",
            "format-disk",
            "",
        ] {
            assert!(command(&form(op)).is_err(), "{op}");
        }
        let mut f = form("volume");
        f.percent = Some("900".into());
        assert!(command(&f).is_err());
        let mut f = form("play");
        f.query = Some("x".repeat(QUERY_MAX + 1));
        assert!(command(&f).is_err());
        let mut f = form("loop");
        f.mode = Some("sometimes".into());
        assert!(command(&f).is_err());
    }

    #[test]
    fn owner_buttons_need_a_real_server_id() {
        let f = |op: &str, guild: Option<&str>| OwnerForm {
            op: op.into(),
            guild: guild.map(Into::into),
            ..OwnerForm::default()
        };
        assert!(owner_action(&f("approve:123456789012345678", None)).is_ok());
        assert!(owner_action(&f("deny:abc", None)).is_err());
        assert!(owner_action(&f("allow", Some("123456789012345678"))).is_ok());
        assert!(owner_action(&f("allow", Some("'; drop"))).is_err());
        assert!(owner_action(&f("revoke:", None)).is_err());
    }
}
