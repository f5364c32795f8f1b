//! `/allowlist add|remove|list`: the bot owners' command.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::command::Allowlist;
use timmybot_discord::reply::ephemeral;
use timmybot_domain::{AllowEntry, GuildId, UserId};
use timmybot_store::StoreError;

use crate::Core;

/// Entries shown by `list`, to stay inside Discord's 2,000-character message limit.
const LIST_MAX: usize = 40;

pub async fn allowlist(
    core: &Core,
    command: Allowlist,
    owner: UserId,
    here: Option<GuildId>,
) -> Result<InteractionResponse, StoreError> {
    const WHICH: &str = "Say which server: `guild:` takes a server id.";
    match command {
        Allowlist::Add { guild, note } => {
            let Some(target) = guild.or(here) else {
                return Ok(ephemeral(WHICH));
            };
            core.ports
                .store
                .allow(&AllowEntry::new(
                    target,
                    owner,
                    core.ports.clock.now_ms(),
                    &note,
                ))
                .await?;
            Ok(ephemeral(format!("Guild `{target}` may now use TimmyBot.")))
        }
        Allowlist::Remove { guild } => {
            let Some(target) = guild.or(here) else {
                return Ok(ephemeral(WHICH));
            };
            Ok(ephemeral(if core.ports.store.revoke(target).await? {
                format!("Guild `{target}` is no longer allowed.")
            } else {
                format!("Guild `{target}` was not on the allowlist.")
            }))
        }
        Allowlist::List => list(core).await,
    }
}

async fn list(core: &Core) -> Result<InteractionResponse, StoreError> {
    let entries = core.ports.store.list_allowed().await?;
    if entries.is_empty() {
        return Ok(ephemeral("The allowlist is empty."));
    }
    let mut text = format!("{} allowed guild(s):\n", entries.len());
    for e in entries.iter().take(LIST_MAX) {
        text.push_str(&format!("• `{}` by <@{}>", e.guild_id, e.approved_by));
        if !e.note.is_empty() {
            text.push_str(&format!(": {}", e.note));
        }
        text.push('\n');
    }
    if entries.len() > LIST_MAX {
        text.push_str(&format!(
            "…and {} more (`timmybot allowlist list` shows all).",
            entries.len() - LIST_MAX
        ));
    }
    Ok(ephemeral(text))
}
