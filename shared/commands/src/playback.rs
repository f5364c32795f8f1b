//! Commands the voice worker carries out: each sends one intent, to the worker that holds the
//! guild's shard. The reply is deferred while that worker is awake (it edits the reply when
//! done); when it sleeps, the reply says the player is starting and that worker is woken.

use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};

use timmybot_discord::render;
use timmybot_discord::reply;
use timmybot_discord::spec::buttons;
use timmybot_domain::{ChannelId, IntentKind, NowPlaying, PlaybackIntent, Position, Volume};

use crate::{CommandError, Core, Ctx};

/// A heartbeat older than this means the worker is asleep (DESIGN.md: 45 s).
pub const AWAKE_WITHIN_MS: u64 = 45_000;

pub const STARTING: &str =
    "⏳ Starting the player: this takes about 30–60 s. This message will update when it plays.";

/// Where the action came from: a slash command gets its own reply, a button press
/// updates the message it sits on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Command,
    Button,
}

pub async fn play(
    core: &Core,
    ctx: &Ctx,
    query: String,
    next: bool,
) -> Result<InteractionResponse, CommandError> {
    let channel = in_voice(core, ctx).await?;
    let kind = IntentKind::Play {
        query,
        requester_id: ctx.member.user,
        voice_channel_id: channel,
        position: if next { Position::Next } else { Position::End },
    };
    send(core, ctx, kind, Origin::Command).await
}

/// A pick from `/search`'s menu: queued like `/play`, unless the menu has expired.
pub async fn search_pick(
    core: &Core,
    ctx: &Ctx,
    tail: &str,
    values: &[String],
) -> Result<InteractionResponse, CommandError> {
    let fresh = timmybot_discord::search::expires_at(tail)
        .is_some_and(|at| core.ports.clock.now_ms() <= at);
    if !fresh {
        return Err(CommandError::User(
            "This search has expired: run `/search` again.".into(),
        ));
    }
    let query = values
        .first()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= timmybot_domain::intent::QUERY_MAX)
        .ok_or_else(|| CommandError::Malformed("a search pick without a value".into()))?;
    play(core, ctx, query.to_owned(), false).await
}

pub async fn join(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    let kind = IntentKind::Join {
        voice_channel_id: in_voice(core, ctx).await?,
    };
    send(core, ctx, kind, Origin::Command).await
}

pub async fn skip(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let kind = skip_kind(core, ctx).await?;
    send(core, ctx, kind, Origin::Command).await
}

/// Plays the track before this one again. A DJ's control, like pause and stop: it changes
/// what everyone hears.
pub async fn previous(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let kind = previous_kind(core, ctx).await?;
    send(core, ctx, kind, Origin::Command).await
}

async fn previous_kind(core: &Core, ctx: &Ctx) -> Result<IntentKind, CommandError> {
    core.dj_only(ctx)?;
    let state = core.ports.store.load_guild(ctx.guild).await?.value;
    if state.queue.played().is_empty() {
        return Err(CommandError::User(
            "Nothing has played before this yet.".into(),
        ));
    }
    Ok(IntentKind::Previous {
        voice_channel_id: in_voice(core, ctx).await?,
    })
}

pub async fn pause(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    if playing(core, ctx).await?.paused {
        return Err(CommandError::User("Already paused.".into()));
    }
    send(core, ctx, IntentKind::Pause, Origin::Command).await
}

pub async fn resume(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    if !playing(core, ctx).await?.paused {
        return Err(CommandError::User("Not paused.".into()));
    }
    send(core, ctx, IntentKind::Resume, Origin::Command).await
}

pub async fn seek(
    core: &Core,
    ctx: &Ctx,
    position_ms: u64,
) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    let np = playing(core, ctx).await?;
    if let Some(len) = np.track.duration_ms.filter(|len| position_ms > *len) {
        return Err(CommandError::User(format!(
            "That is past the end; the track is {} long.",
            render::duration(len)
        )));
    }
    send(core, ctx, IntentKind::Seek { position_ms }, Origin::Command).await
}

pub async fn volume(
    core: &Core,
    ctx: &Ctx,
    percent: Volume,
) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    send(core, ctx, IntentKind::Volume { percent }, Origin::Command).await
}

pub async fn stop(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    send(core, ctx, IntentKind::Stop, Origin::Command).await
}

pub async fn leave(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    send(core, ctx, IntentKind::Leave, Origin::Command).await
}

/// The now-playing message's back, pause, skip and stop buttons.
pub async fn button(
    core: &Core,
    ctx: &Ctx,
    custom_id: &str,
) -> Result<InteractionResponse, CommandError> {
    let kind = match custom_id {
        buttons::SKIP => skip_kind(core, ctx).await?,
        buttons::PREVIOUS => previous_kind(core, ctx).await?,
        buttons::PAUSE_RESUME => {
            core.dj_only(ctx)?;
            if playing(core, ctx).await?.paused {
                IntentKind::Resume
            } else {
                IntentKind::Pause
            }
        }
        _ => {
            core.dj_only(ctx)?;
            IntentKind::Stop
        }
    };
    send(core, ctx, kind, Origin::Button).await
}

/// A DJ's or the requester's skip; anyone else's press is a vote.
async fn skip_kind(core: &Core, ctx: &Ctx) -> Result<IntentKind, CommandError> {
    let np = playing(core, ctx).await?;
    let vote = !core.is_dj(ctx) && np.track.requester != ctx.member.user;
    Ok(IntentKind::Skip {
        vote_by: vote.then_some(ctx.member.user),
    })
}

/// What plays now, or a "nothing is playing" refusal.
async fn playing(core: &Core, ctx: &Ctx) -> Result<NowPlaying, CommandError> {
    let state = core.ports.store.load_guild(ctx.guild).await?.value;
    state
        .queue
        .now_playing()
        .cloned()
        .ok_or_else(|| CommandError::User("Nothing is playing right now.".into()))
}

pub(crate) async fn in_voice(core: &Core, ctx: &Ctx) -> Result<ChannelId, CommandError> {
    core.ports
        .voice
        .voice_channel(ctx.guild, ctx.member.user)
        .await?
        .ok_or_else(|| CommandError::User("Join a voice channel first, then try again.".into()))
}

/// Sends `kind` for a slash command: deferred while the worker is awake, waking it if not.
pub(crate) async fn send_command(
    core: &Core,
    ctx: &Ctx,
    kind: IntentKind,
) -> Result<InteractionResponse, CommandError> {
    send(core, ctx, kind, Origin::Command).await
}

async fn send(
    core: &Core,
    ctx: &Ctx,
    kind: IntentKind,
    origin: Origin,
) -> Result<InteractionResponse, CommandError> {
    let now = core.ports.clock.now_ms();
    // Only the worker holding the guild's shard can join its voice channel: its queue, its
    // heartbeat and its service.
    let (index, owner) = core.ports.workers.route(ctx.guild);
    let awake = core
        .ports
        .store
        .last_beat(index)
        .await?
        .is_some_and(|hb| hb.is_fresh(now, AWAKE_WITHIN_MS));
    let mut intent =
        PlaybackIntent::new(ctx.intent_id.clone(), ctx.guild, now, kind).with_channel(ctx.channel);
    intent.reply = ctx.reply.clone();
    owner.bus.publish(&intent).await?;
    if awake {
        return Ok(InteractionResponse {
            kind: match origin {
                Origin::Command => InteractionResponseType::DeferredChannelMessageWithSource,
                Origin::Button => InteractionResponseType::DeferredUpdateMessage,
            },
            data: None,
        });
    }
    if let Some(service) = &owner.service {
        // The intent waits in the queue either way; the oldest-message alarm is the safety net.
        if let Err(err) = service.set_desired(1).await {
            tracing::warn!(guild = %ctx.guild, worker = %index, error = %err, "could not wake the worker");
        }
    }
    Ok(match origin {
        Origin::Command => reply::visible(STARTING),
        Origin::Button => reply::ephemeral(STARTING),
    })
}
