//! `/allowlist add|remove|list`: the bot owners' command.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::command::Allowlist;
use timmybot_discord::reply::ephemeral;
use timmybot_domain::{
    AllowEntry, AuditAction, AuditEntry, AuditOrigin, AuditScope, GuildId, UserId,
};
use timmybot_store::StoreError;

use crate::Core;

/// Entries shown by `list`, to stay inside Discord's 2,000-character message limit.
const LIST_MAX: usize = 40;

pub async fn allowlist(
    core: &Core,
    command: Allowlist,
    owner: UserId,
    here: Option<GuildId>,
    origin: AuditOrigin,
) -> Result<InteractionResponse, StoreError> {
    const WHICH: &str = "Say which server: `guild:` takes a server id.";
    match command {
        Allowlist::Add { guild, note } => {
            let Some(target) = guild.or(here) else {
                return Ok(ephemeral(WHICH));
            };
            let now = core.ports.clock.now_ms();
            core.ports
                .store
                .allow(&AllowEntry::new(target, owner, now, &note))
                .await?;
            // Adding a guild answers any request it had waiting; a read first spares the
            // usual case a write.
            if core.ports.store.access_request(target).await?.is_some() {
                core.ports.store.close_request(target).await?;
            }
            core.audit(
                AuditEntry::new(
                    AuditScope::Bot,
                    now,
                    Some(owner),
                    AuditAction::AllowlistAdd,
                    origin,
                )
                .on(target)
                .with_detail(&note),
            )
            .await;
            Ok(ephemeral(format!("Guild `{target}` may now use TimmyBot.")))
        }
        Allowlist::Remove { guild } => {
            let Some(target) = guild.or(here) else {
                return Ok(ephemeral(WHICH));
            };
            if !core.ports.store.revoke(target).await? {
                return Ok(ephemeral(format!(
                    "Guild `{target}` was not on the allowlist."
                )));
            }
            core.audit(
                AuditEntry::new(
                    AuditScope::Bot,
                    core.ports.clock.now_ms(),
                    Some(owner),
                    AuditAction::AllowlistRemove,
                    origin,
                )
                .on(target),
            )
            .await;
            Ok(ephemeral(format!("Guild `{target}` is no longer allowed.")))
        }
        Allowlist::List => list(core).await,
        Allowlist::Requests => requests(core).await,
    }
}

async fn requests(core: &Core) -> Result<InteractionResponse, StoreError> {
    let pending = core.ports.store.pending_requests().await?;
    if pending.is_empty() {
        return Ok(ephemeral("No server is waiting for a decision."));
    }
    let mut text = format!("{} server(s) waiting, oldest first:\n", pending.len());
    for r in pending.iter().take(LIST_MAX) {
        let name = if r.server_name.is_empty() {
            String::new()
        } else {
            format!(" {}", timmybot_discord::render::escape(&r.server_name))
        };
        text.push_str(&format!(
            "• `{}`{name}, asked by <@{}> for {} listener(s): {}\n",
            r.guild_id,
            r.requested_by,
            r.expected_listeners,
            timmybot_discord::render::escape(&r.use_case)
        ));
    }
    text.push_str("Approve with `/allowlist add guild:<id>`, or from the DM each owner got.");
    Ok(ephemeral(text))
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
