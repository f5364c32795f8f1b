//! `/playlist`: a guild's saved playlists. Saving, listing, showing and deleting are store
//! changes made here; loading is an intent, because the worker owns the queue and the call.
//!
//! Anyone may save a new playlist or play one; only its owner or a DJ may save over it or
//! delete it.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::playlist::{self as ui, PlaylistCommand};
use timmybot_discord::render::{duration, escape};
use timmybot_discord::reply;
use timmybot_domain::playlist::{PLAYLISTS_MAX, PLAYLIST_TRACKS_MAX};
use timmybot_domain::{IntentKind, PlaylistError, PlaylistName, SavedPlaylist};
use timmybot_store::StoreError;

use crate::playback::{in_voice, send_command};
use crate::{CommandError, Core, Ctx};

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    cmd: PlaylistCommand,
) -> Result<InteractionResponse, CommandError> {
    match cmd {
        PlaylistCommand::Save { name } => save(core, ctx, name).await,
        PlaylistCommand::Load { name, shuffle } => {
            let voice_channel_id = in_voice(core, ctx).await?;
            // The name as saved, for the worker's reply.
            let name = find(core, ctx, &name).await?.name;
            let kind = IntentKind::LoadPlaylist {
                name,
                shuffle,
                requester_id: ctx.member.user,
                voice_channel_id,
            };
            send_command(core, ctx, kind).await
        }
        PlaylistCommand::List => Ok(ui::list(&core.ports.store.playlists(ctx.guild).await?)),
        PlaylistCommand::Show { name } => Ok(ui::show(&find(core, ctx, &name).await?)),
        PlaylistCommand::Delete { name } => {
            let playlist = find(core, ctx, &name).await?;
            if !playlist.may_change(ctx.member.user, core.is_dj(ctx)) {
                return Err(not_yours(&playlist, "delete it"));
            }
            core.ports
                .store
                .delete_playlist(ctx.guild, &playlist.name)
                .await?;
            Ok(reply::visible(format!(
                "🗑 Deleted the playlist **{}**.",
                escape(playlist.name.as_str())
            )))
        }
    }
}

/// Saves what plays now and what waits, in order.
async fn save(
    core: &Core,
    ctx: &Ctx,
    name: PlaylistName,
) -> Result<InteractionResponse, CommandError> {
    let store = &core.ports.store;
    let queue = store.load_guild(ctx.guild).await?.value.queue;
    let tracks: Vec<_> = queue
        .now_playing()
        .map(|np| np.track.clone())
        .into_iter()
        .chain(queue.upcoming().iter().cloned())
        .take(PLAYLIST_TRACKS_MAX)
        .collect();
    let now = core.ports.clock.now_ms();
    let playlist =
        SavedPlaylist::new(ctx.guild, name, ctx.member.user, now, tracks).map_err(|e| match e {
            PlaylistError::Empty => {
                CommandError::User("The queue is empty: play something, then save it.".into())
            }
            other => CommandError::User(reply::sentence(&other.to_string())),
        })?;
    let existing = store.playlist(ctx.guild, &playlist.name).await?;
    let mut playlist = playlist;
    match &existing {
        Some(old) if !old.may_change(ctx.member.user, core.is_dj(ctx)) => {
            return Err(not_yours(old, "save over it"));
        }
        // Saved over, it keeps the name as first typed.
        Some(old) => playlist.name = old.name.clone(),
        None => {
            if store.playlists(ctx.guild).await?.len() >= PLAYLISTS_MAX {
                return Err(CommandError::User(format!(
                    "This server already keeps {PLAYLISTS_MAX} playlists, the most it can. \
                     Delete one with `/playlist delete` first."
                )));
            }
        }
    }
    match store.save_playlist(&playlist).await {
        Ok(()) => {}
        Err(StoreError::ItemTooLarge { .. }) => return Err(CommandError::User(
            "That queue is too large to keep as one playlist; remove some tracks and save again."
                .into(),
        )),
        Err(e) => return Err(e.into()),
    }
    let summary = playlist.summary();
    Ok(reply::visible(format!(
        "💾 Saved the queue {} **{}**: {} track{} ({}). Play it with `/playlist load`.",
        if existing.is_some() { "over" } else { "as" },
        escape(playlist.name.as_str()),
        summary.track_count,
        if summary.track_count == 1 { "" } else { "s" },
        duration(summary.duration_ms)
    )))
}

async fn find(core: &Core, ctx: &Ctx, name: &PlaylistName) -> Result<SavedPlaylist, CommandError> {
    core.ports
        .store
        .playlist(ctx.guild, name)
        .await?
        .ok_or_else(|| {
            CommandError::User(format!(
                "There is no playlist called **{}** here. `/playlist list` shows them.",
                escape(name.as_str())
            ))
        })
}

fn not_yours(playlist: &SavedPlaylist, what: &str) -> CommandError {
    CommandError::User(format!(
        "**{}** was saved by <@{}>: only they or a DJ can {what}.",
        escape(playlist.name.as_str()),
        playlist.owner
    ))
}
