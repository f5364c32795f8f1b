//! `/audit [guild]`: the owners' view of who changed what, newest first.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::reply::ephemeral;
use timmybot_domain::{AuditEntry, AuditScope, GuildId};
use timmybot_store::StoreError;

use crate::Core;

/// Entries shown, to stay inside Discord's 2,000-character message limit.
const SHOWN: usize = 15;

pub async fn show(core: &Core, guild: Option<GuildId>) -> Result<InteractionResponse, StoreError> {
    let scope = guild.map_or(AuditScope::Bot, AuditScope::Guild);
    let entries = core.ports.store.audit_log(scope, SHOWN).await?;
    if entries.is_empty() {
        return Ok(ephemeral(match guild {
            Some(g) => format!("Nothing is recorded for guild `{g}` in the last year."),
            None => "Nothing is recorded for the bot in the last year.".to_owned(),
        }));
    }
    let title = match guild {
        Some(g) => format!("Audit log of guild `{g}`, newest first:"),
        None => "The bot's audit log, newest first (`guild:` shows one server's):".to_owned(),
    };
    let lines: Vec<String> = entries.iter().map(line).collect();
    Ok(ephemeral(format!("{title}\n{}", lines.join("\n"))))
}

/// One entry as a line: when (in the reader's time zone), what, on what, by whom, from where.
pub fn line(e: &AuditEntry) -> String {
    let mut s = format!("• <t:{}:f> {}", e.at_ms / 1000, e.action.as_str());
    if let Some(g) = e.target {
        s.push_str(&format!(" `{g}`"));
    }
    match e.actor {
        Some(u) => s.push_str(&format!(" by <@{u}>")),
        None => s.push_str(" by an operator"),
    }
    s.push_str(&format!(" ({})", e.origin));
    if !e.detail.is_empty() {
        s.push_str(&format!(
            ": {}",
            timmybot_discord::render::escape(&e.detail)
        ));
    }
    s
}
