//! `/settings`: a guild's DJ role, idle timeout and announce channel. Managers only.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::command::SettingsChange;
use timmybot_discord::reply;
use timmybot_domain::{AuditAction, AuditEntry, AuditOrigin, AuditScope, GuildSettings};

use crate::{CommandError, Core, Ctx};

pub async fn run(
    core: &Core,
    ctx: &Ctx,
    change: SettingsChange,
) -> Result<InteractionResponse, CommandError> {
    if !ctx.member.manage_guild {
        return Err(CommandError::User(
            "Only members with Manage Server can change the settings.".into(),
        ));
    }
    let store = &core.ports.store;
    let mut settings = store.guild_settings(ctx.guild).await?;
    let before = settings.clone();
    if let Some(role) = change.dj_role {
        settings.dj_role = Some(role);
    }
    if let Some(channel) = change.announce_channel {
        settings.announce_channel = Some(channel);
    }
    if let Some(minutes) = change.idle_timeout_minutes {
        settings.idle_timeout_secs = Some(minutes * 60);
    }
    if change.clear_dj_role {
        settings.dj_role = None;
    }
    if change.clear_announce_channel {
        settings.announce_channel = None;
    }
    if let Some(stay) = change.stay {
        settings.stay = stay;
    }
    if let Some(autoplay) = change.autoplay {
        settings.autoplay = autoplay;
    }
    if settings != before {
        store.save_guild_settings(&settings).await?;
        core.audit(
            AuditEntry::new(
                AuditScope::Guild(ctx.guild),
                core.ports.clock.now_ms(),
                Some(ctx.member.user),
                AuditAction::SettingsChanged,
                AuditOrigin::Discord(Some(ctx.guild)),
            )
            .with_detail(&changes(&before, &settings)),
        )
        .await;
    }
    Ok(reply::ephemeral(describe(&settings, settings != before)))
}

/// What changed, in words, for the audit log.
fn changes(before: &GuildSettings, after: &GuildSettings) -> String {
    let mut out = Vec::new();
    if before.dj_role != after.dj_role {
        out.push(match after.dj_role {
            Some(r) => format!("DJ role set to {r}"),
            None => "DJ role cleared".to_owned(),
        });
    }
    if before.idle_timeout_secs != after.idle_timeout_secs {
        out.push(match after.idle_timeout_secs {
            Some(s) => format!("idle timeout {} min", s / 60),
            None => "idle timeout default".to_owned(),
        });
    }
    if before.announce_channel != after.announce_channel {
        out.push(match after.announce_channel {
            Some(c) => format!("announce channel {c}"),
            None => "announce channel cleared".to_owned(),
        });
    }
    if before.stay != after.stay {
        out.push(format!("stay {}", on_off(after.stay)));
    }
    if before.autoplay != after.autoplay {
        out.push(format!("autoplay {}", on_off(after.autoplay)));
    }
    out.join("; ")
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
    let idle = if s.stay {
        "never: 24/7 is on".to_owned()
    } else {
        idle
    };
    format!(
        "{}\n• DJ role: {dj}\n• Leave when idle after: {idle}\n• Now-playing messages go to: {announce}\n• Stay in the channel (24/7): {}\n• Autoplay when the queue runs out: {}",
        if changed { "Settings saved." } else { "Current settings:" },
        on_off(s.stay),
        on_off(s.autoplay)
    )
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
