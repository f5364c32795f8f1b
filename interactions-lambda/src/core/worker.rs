//! Commands the voice worker carries out: each sends one intent. The reply is deferred while
//! the worker is awake (it edits the reply when done); when it sleeps, the reply says the
//! player is starting and the worker is woken.

use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};

use super::{args, reply, CommandError, Core, Ctx};
use timmybot_shared::commands::buttons;
use timmybot_shared::domain::intent::QUERY_MAX;
use timmybot_shared::domain::{IntentKind, PlaybackIntent, Position, Volume};

/// A heartbeat older than this means the worker is asleep (DESIGN.md: 45 s).
pub const AWAKE_WITHIN_MS: u64 = 45_000;

pub const STARTING: &str =
    "⏳ Starting the player: this takes about 30–60 s. This message will update when it plays.";

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    data: &CommandData,
) -> Result<Option<InteractionResponse>, CommandError> {
    let a = data.options.as_slice();
    let kind = match data.name.as_str() {
        "play" => {
            let query = args::string(a, "query").map(str::trim).unwrap_or_default();
            if query.is_empty() || query.len() > QUERY_MAX {
                return Err(CommandError::User(format!(
                    "Give me a link or something to search for (up to {QUERY_MAX} characters)."
                )));
            }
            let channel = in_voice(core, ctx).await?;
            let position = if args::boolean(a, "next").unwrap_or(false) {
                Position::Next
            } else {
                Position::End
            };
            IntentKind::Play {
                query: query.to_owned(),
                requester_id: ctx.member.user,
                voice_channel_id: channel,
                position,
            }
        }
        "join" => {
            core.dj_only(ctx)?;
            IntentKind::Join {
                voice_channel_id: in_voice(core, ctx).await?,
            }
        }
        "skip" => skip_kind(core, ctx).await?,
        "pause" | "resume" | "seek" => {
            core.dj_only(ctx)?;
            let state = core.ports.store.load_guild(ctx.guild).await?.value;
            let np = state.queue.now_playing().ok_or_else(nothing_playing)?;
            match data.name.as_str() {
                "pause" if np.paused => return Err(CommandError::User("Already paused.".into())),
                "pause" => IntentKind::Pause,
                "resume" if !np.paused => return Err(CommandError::User("Not paused.".into())),
                "resume" => IntentKind::Resume,
                _ => {
                    let raw = args::string(a, "position").unwrap_or_default();
                    let ms = parse_timestamp(raw).ok_or_else(|| {
                        CommandError::User(
                            "Say where to seek as `1:23`, `1:02:03` or seconds.".into(),
                        )
                    })?;
                    if let Some(len) = np.track.duration_ms.filter(|len| ms > *len) {
                        return Err(CommandError::User(format!(
                            "That is past the end; the track is {} long.",
                            super::render::duration(len)
                        )));
                    }
                    IntentKind::Seek { position_ms: ms }
                }
            }
        }
        "volume" => {
            core.dj_only(ctx)?;
            let percent = args::integer(a, "percent")
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| CommandError::User("Volume must be between 0 and 200%.".into()))?;
            IntentKind::Volume {
                percent: Volume::parse(percent)?,
            }
        }
        "stop" => {
            core.dj_only(ctx)?;
            IntentKind::Stop
        }
        "leave" => {
            core.dj_only(ctx)?;
            IntentKind::Leave
        }
        _ => return Ok(None),
    };
    send(core, ctx, kind, Origin::Command).await.map(Some)
}

/// Where the action came from: a slash command gets its own reply, a button press
/// updates the message it sits on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Command,
    Button,
}

/// A DJ's or the requester's skip; anyone else's press is a vote.
async fn skip_kind(core: &Core, ctx: &Ctx) -> Result<IntentKind, CommandError> {
    let state = core.ports.store.load_guild(ctx.guild).await?.value;
    let np = state.queue.now_playing().ok_or_else(nothing_playing)?;
    let vote = !core.is_dj(ctx) && np.track.requester != ctx.member.user;
    Ok(IntentKind::Skip {
        vote_by: vote.then_some(ctx.member.user),
    })
}

/// The now-playing message's pause, skip and stop buttons.
pub async fn button(
    core: &Core,
    ctx: &Ctx,
    custom_id: &str,
) -> Result<Option<InteractionResponse>, CommandError> {
    let kind = match custom_id {
        buttons::SKIP => skip_kind(core, ctx).await?,
        buttons::PAUSE_RESUME => {
            core.dj_only(ctx)?;
            let state = core.ports.store.load_guild(ctx.guild).await?.value;
            match state
                .queue
                .now_playing()
                .ok_or_else(nothing_playing)?
                .paused
            {
                true => IntentKind::Resume,
                false => IntentKind::Pause,
            }
        }
        buttons::STOP => {
            core.dj_only(ctx)?;
            IntentKind::Stop
        }
        _ => return Ok(None),
    };
    send(core, ctx, kind, Origin::Button).await.map(Some)
}

fn nothing_playing() -> CommandError {
    CommandError::User("Nothing is playing right now.".into())
}

async fn in_voice(
    core: &Core,
    ctx: &Ctx,
) -> Result<timmybot_shared::domain::ChannelId, CommandError> {
    core.ports
        .voice
        .voice_channel(ctx.guild, ctx.member.user)
        .await
        .map_err(|e| CommandError::Lookup(e.to_string()))?
        .ok_or_else(|| CommandError::User("Join a voice channel first, then try again.".into()))
}

async fn send(
    core: &Core,
    ctx: &Ctx,
    kind: IntentKind,
    origin: Origin,
) -> Result<InteractionResponse, CommandError> {
    let now = core.ports.clock.now_ms();
    let awake = core
        .ports
        .store
        .last_beat()
        .await?
        .is_some_and(|hb| hb.is_fresh(now, AWAKE_WITHIN_MS));
    let intent = PlaybackIntent::new(ctx.intent_id.clone(), ctx.guild, now, kind)
        .with_reply(ctx.reply.clone())
        .with_channel(ctx.channel);
    core.ports.bus.publish(&intent).await?;
    if awake {
        return Ok(InteractionResponse {
            kind: match origin {
                Origin::Command => InteractionResponseType::DeferredChannelMessageWithSource,
                Origin::Button => InteractionResponseType::DeferredUpdateMessage,
            },
            data: None,
        });
    }
    if let Some(waker) = &core.ports.waker {
        // The intent waits in the queue either way; the oldest-message alarm is the safety net.
        if let Err(err) = waker.wake().await {
            tracing::warn!(guild = %ctx.guild, error = %err, "could not wake the worker");
        }
    }
    Ok(match origin {
        Origin::Command => reply::visible(STARTING),
        Origin::Button => reply::ephemeral(STARTING),
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
    use super::parse_timestamp;

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
