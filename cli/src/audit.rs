//! `timmybot audit [--guild ID]`: the audit log, newest first.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use timmybot_domain::{AuditScope, Clock, GuildId, SystemClock};

pub async fn run(guild: Option<GuildId>, limit: usize, out: &mut impl Write) -> anyhow::Result<()> {
    let settings = crate::settings().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = crate::allowlist::open_store(&settings, clock).await?;
    let scope = guild.map_or(AuditScope::Bot, AuditScope::Guild);
    let entries = store.audit_log(scope, limit).await?;
    if entries.is_empty() {
        writeln!(out, "nothing is recorded for {scope} in the last year")?;
    }
    for e in entries {
        let at = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(e.at_ms));
        let target = e.target.map(|g| format!(" {g}")).unwrap_or_default();
        let by = e
            .actor
            .map_or_else(|| "an operator".to_owned(), |u| u.to_string());
        writeln!(
            out,
            "{at}\t{}{target}\tby {by}\tvia {}\t{}",
            e.action.as_str(),
            e.origin,
            e.detail
        )?;
    }
    Ok(())
}
