//! `/settings`: a guild's DJ role, idle timeout and announce channel. Managers only.

use twilight_model::application::interaction::application_command::{
    CommandData, CommandOptionValue,
};
use twilight_model::http::interaction::InteractionResponse;

use super::{args, reply, CommandError, Core, Ctx};
use timmybot_shared::domain::{ChannelId, GuildSettings, RoleId};

/// Bounds of the idle timeout, in minutes.
pub const IDLE_MINUTES: std::ops::RangeInclusive<i64> = 1..=60;

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    data: &CommandData,
) -> Result<InteractionResponse, CommandError> {
    if !ctx.member.manage_guild {
        return Err(CommandError::User(
            "Only members with Manage Server can change the settings.".into(),
        ));
    }
    let a = data.options.as_slice();
    let store = &core.ports.store;
    let mut settings = store.guild_settings(ctx.guild).await?;
    let before = settings.clone();
    for option in a {
        match (option.name.as_str(), &option.value) {
            ("dj_role", CommandOptionValue::Role(id)) => {
                settings.dj_role = RoleId::new(id.get()).ok()
            }
            ("announce_channel", CommandOptionValue::Channel(id)) => {
                settings.announce_channel = ChannelId::new(id.get()).ok()
            }
            _ => {}
        }
    }
    if let Some(minutes) = args::integer(a, "idle_timeout") {
        if !IDLE_MINUTES.contains(&minutes) {
            return Err(CommandError::User(format!(
                "The idle timeout must be {} to {} minutes.",
                IDLE_MINUTES.start(),
                IDLE_MINUTES.end()
            )));
        }
        settings.idle_timeout_secs = u32::try_from(minutes * 60).ok();
    }
    if args::boolean(a, "clear_dj_role") == Some(true) {
        settings.dj_role = None;
    }
    if args::boolean(a, "clear_announce_channel") == Some(true) {
        settings.announce_channel = None;
    }
    if settings != before {
        store.save_guild_settings(&settings).await?;
    }
    Ok(reply::ephemeral(describe(&settings, settings != before)))
}

fn describe(s: &GuildSettings, changed: bool) -> String {
    let dj = s.dj_role.map_or_else(
        || "none: everyone can control playback".to_owned(),
        |r| format!("<@&{r}>"),
    );
    let idle = s
        .idle_timeout_secs
        .map_or_else(|| "default".to_owned(), |secs| format!("{} min", secs / 60));
    let announce = s.announce_channel.map_or_else(
        || "the channel of the command".to_owned(),
        |c| format!("<#{c}>"),
    );
    format!(
        "{}\n• DJ role: {dj}\n• Leave when idle after: {idle}\n• Now-playing messages go to: {announce}",
        if changed { "Settings saved." } else { "Current settings:" }
    )
}
