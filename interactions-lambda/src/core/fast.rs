//! Commands answered at once from the stored state: `/queue`, `/now-playing`, and the
//! mutations `/remove`, `/move`, `/shuffle`, `/clear` and `/loop`. Each mutation is one
//! versioned write, then a `queue_changed` intent so the worker re-reads the state.

use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};

use super::{args, render, reply, CommandError, Core, Ctx};
use timmybot_shared::commands::buttons;
use timmybot_shared::domain::{GuildId, IntentKind, LoopMode, PlaybackIntent};
use timmybot_shared::store::update_guild;

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    data: &CommandData,
) -> Result<Option<InteractionResponse>, CommandError> {
    let a = data.options.as_slice();
    let now = core.ports.clock.now_ms();
    let response = match data.name.as_str() {
        "queue" => {
            let page = args::integer(a, "page").unwrap_or(1).max(1);
            let state = core.ports.store.load_guild(ctx.guild).await?.value;
            let page = usize::try_from(page).unwrap_or(usize::MAX);
            visible(render::queue_page(&state.queue, page, now))
        }
        "now-playing" => {
            let state = core.ports.store.load_guild(ctx.guild).await?.value;
            match render::now_playing(&state.queue, now) {
                Some(data) => visible(data),
                None => reply::ephemeral("Nothing is playing right now."),
            }
        }
        "remove" => {
            let position = args::position(a, "position").map_err(CommandError::User)?;
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
            reply::visible(format!(
                "Removed {} (was #{position}).",
                render::escape_title(&removed)
            ))
        }
        "move" => {
            core.dj_only(ctx)?;
            let from = args::position(a, "from").map_err(CommandError::User)?;
            let to = args::position(a, "to").map_err(CommandError::User)?;
            let moved = mutate(core, ctx, |q| {
                q.move_track(from, to)?;
                Ok(q.upcoming()[to - 1].clone())
            })
            .await?;
            reply::visible(format!("Moved {} to #{to}.", render::escape_title(&moved)))
        }
        "shuffle" => {
            let n = shuffle(core, ctx).await?;
            reply::visible(format!("Shuffled {n} tracks."))
        }
        "clear" => {
            core.dj_only(ctx)?;
            let n = mutate(core, ctx, |q| match q.clear() {
                0 => Err(CommandError::User("The queue is already empty.".into())),
                n => Ok(n),
            })
            .await?;
            reply::visible(format!("Cleared {n} tracks. The current one plays on."))
        }
        "loop" => {
            core.dj_only(ctx)?;
            let mode = args::string(a, "mode")
                .and_then(LoopMode::parse)
                .ok_or_else(|| {
                    CommandError::User("Loop mode must be `off`, `track` or `queue`.".into())
                })?;
            mutate(core, ctx, |q| {
                q.set_loop(mode);
                Ok(())
            })
            .await?;
            reply::visible(format!("Loop is now **{}**.", mode.as_str()))
        }
        _ => return Ok(None),
    };
    Ok(Some(response))
}

/// The now-playing message's loop and shuffle buttons: changes like the commands', each
/// confirmed to the presser alone.
pub async fn button(
    core: &Core,
    ctx: &Ctx,
    custom_id: &str,
) -> Result<Option<InteractionResponse>, CommandError> {
    let text = match custom_id {
        buttons::LOOP => {
            core.dj_only(ctx)?;
            let mode = mutate(core, ctx, |q| {
                let next = q.loop_mode().next();
                q.set_loop(next);
                Ok(next)
            })
            .await?;
            format!("Loop is now **{}**.", mode.as_str())
        }
        buttons::SHUFFLE => {
            let n = shuffle(core, ctx).await?;
            format!("Shuffled {n} tracks.")
        }
        _ => return Ok(None),
    };
    Ok(Some(reply::ephemeral(text)))
}

/// A press of a `/queue` page button: the same message, another page.
pub async fn queue_page_button(
    core: &Core,
    guild: GuildId,
    page: &str,
) -> Result<InteractionResponse, CommandError> {
    let page: usize = page.parse().unwrap_or(1);
    let state = core.ports.store.load_guild(guild).await?.value;
    Ok(InteractionResponse {
        kind: InteractionResponseType::UpdateMessage,
        data: Some(render::queue_page(
            &state.queue,
            page,
            core.ports.clock.now_ms(),
        )),
    })
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
    mut change: impl FnMut(&mut timmybot_shared::domain::GuildQueue) -> Result<T, CommandError>,
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
    if let Err(err) = core.ports.bus.publish(&intent).await {
        tracing::warn!(guild = %ctx.guild, error = %err, "queue changed but the worker was not told");
    }
    Ok(updated.output)
}

fn visible(
    data: twilight_model::http::interaction::InteractionResponseData,
) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(data),
    }
}
