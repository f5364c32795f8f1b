//! Commands answered at once from the stored state: `/queue`, `/now-playing`, and the
//! mutations `/remove`, `/move`, `/shuffle`, `/clear` and `/loop`. Each mutation is one
//! versioned write, then a `queue_changed` intent so the worker re-reads the state.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::render::{self, NowPlayingView};
use timmybot_discord::reply;
use timmybot_discord::spec::buttons;
use timmybot_domain::{GuildId, GuildQueue, IntentKind, LoopMode, PlaybackIntent};
use timmybot_store::update_guild;

use crate::{CommandError, Core, Ctx};

pub async fn queue(
    core: &Core,
    ctx: &Ctx,
    page: usize,
) -> Result<InteractionResponse, CommandError> {
    let state = core.ports.store.load_guild(ctx.guild).await?.value;
    Ok(reply::message(render::queue_page(
        &state.queue,
        page,
        core.ports.clock.now_ms(),
    )))
}

pub async fn now_playing(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let state = core.ports.store.load_guild(ctx.guild).await?.value;
    Ok(
        match NowPlayingView::of_state(&state, core.ports.clock.now_ms()) {
            Some(view) => reply::message(render::now_playing(&view)),
            None => reply::ephemeral("Nothing is playing right now."),
        },
    )
}

pub async fn remove(
    core: &Core,
    ctx: &Ctx,
    position: usize,
) -> Result<InteractionResponse, CommandError> {
    let is_dj = core.is_dj(ctx);
    let user = ctx.member.user;
    let removed = mutate(core, ctx, |q| {
        let owner = q.upcoming().get(position - 1).map(|t| t.requester);
        if !is_dj && owner.is_some_and(|o| o != user) {
            return Err(CommandError::User(
                "You can only remove tracks you added. DJs can remove any.".into(),
            ));
        }
        Ok(q.remove(position)?)
    })
    .await?;
    Ok(reply::visible(format!(
        "Removed {} (was #{position}).",
        render::escape_title(&removed)
    )))
}

pub async fn move_track(
    core: &Core,
    ctx: &Ctx,
    from: usize,
    to: usize,
) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    let moved = mutate(core, ctx, |q| {
        q.move_track(from, to)?;
        Ok(q.upcoming()[to - 1].clone())
    })
    .await?;
    Ok(reply::visible(format!(
        "Moved {} to #{to}.",
        render::escape_title(&moved)
    )))
}

pub async fn shuffle_command(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let n = shuffle(core, ctx).await?;
    Ok(reply::visible(format!("Shuffled {n} tracks.")))
}

pub async fn clear(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    let n = mutate(core, ctx, |q| match q.clear() {
        0 => Err(CommandError::User("The queue is already empty.".into())),
        n => Ok(n),
    })
    .await?;
    Ok(reply::visible(format!(
        "Cleared {n} tracks. The current one plays on."
    )))
}

pub async fn set_loop(
    core: &Core,
    ctx: &Ctx,
    mode: LoopMode,
) -> Result<InteractionResponse, CommandError> {
    core.dj_only(ctx)?;
    mutate(core, ctx, |q| {
        q.set_loop(mode);
        Ok(())
    })
    .await?;
    Ok(reply::visible(format!(
        "Loop is now **{}**.",
        mode.as_str()
    )))
}

/// The now-playing message's loop and shuffle buttons: changes like the commands', each
/// confirmed to the presser alone.
pub async fn button(
    core: &Core,
    ctx: &Ctx,
    custom_id: &str,
) -> Result<InteractionResponse, CommandError> {
    let text = if custom_id == buttons::LOOP {
        core.dj_only(ctx)?;
        let mode = mutate(core, ctx, |q| {
            let next = q.loop_mode().next();
            q.set_loop(next);
            Ok(next)
        })
        .await?;
        format!("Loop is now **{}**.", mode.as_str())
    } else {
        let n = shuffle(core, ctx).await?;
        format!("Shuffled {n} tracks.")
    };
    Ok(reply::ephemeral(text))
}

/// A press of a `/queue` page button: the same message, another page.
pub async fn queue_page_button(
    core: &Core,
    guild: GuildId,
    page: &str,
) -> Result<InteractionResponse, CommandError> {
    let page: usize = page.parse().unwrap_or(1);
    let state = core.ports.store.load_guild(guild).await?.value;
    Ok(reply::update(render::queue_page(
        &state.queue,
        page,
        core.ports.clock.now_ms(),
    )))
}

/// Shuffles the upcoming tracks (DJs only); returns how many.
async fn shuffle(core: &Core, ctx: &Ctx) -> Result<usize, CommandError> {
    core.dj_only(ctx)?;
    mutate(core, ctx, |q| {
        if q.upcoming().len() < 2 {
            return Err(CommandError::User("There is nothing to shuffle.".into()));
        }
        q.shuffle(&mut rand::rng());
        Ok(q.upcoming().len())
    })
    .await
}

/// One versioned change of the queue, then the nudge to the worker.
async fn mutate<T>(
    core: &Core,
    ctx: &Ctx,
    mut change: impl FnMut(&mut GuildQueue) -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    let updated = update_guild(
        core.ports.store.as_ref(),
        core.ports.clock.as_ref(),
        core.retry,
        ctx.guild,
        |state| change(&mut state.queue),
    )
    .await?;
    let intent = PlaybackIntent::new(
        ctx.intent_id.clone(),
        ctx.guild,
        core.ports.clock.now_ms(),
        IntentKind::QueueChanged,
    );
    // The state is written and is the truth; a lost nudge only delays the worker noticing.
    let (_, owner) = core.ports.workers.route(ctx.guild);
    if let Err(err) = owner.bus.publish(&intent).await {
        tracing::warn!(guild = %ctx.guild, error = %err, "queue changed but the worker was not told");
    }
    Ok(updated.output)
}
