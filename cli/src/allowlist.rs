//! `timmybot allowlist add|remove|list|requests`, against whichever store STORE names.
//! Changes are recorded in the audit log, as from the command line.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};
use timmybot_config::names::env;
use timmybot_config::Source;
use timmybot_domain::{
    AllowEntry, AuditAction, AuditEntry, AuditOrigin, AuditScope, Clock, SystemClock, UserId,
};
use timmybot_store::SharedStore;

use crate::args::AllowlistCommand;

pub async fn run(cmd: AllowlistCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let settings = crate::settings().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(&settings, clock.clone()).await?;
    match cmd {
        AllowlistCommand::Add(add) => {
            let by = match add.by {
                Some(by) => by,
                None => settings.owners()?.first().with_context(|| {
                    format!(
                        "say who approves with --by USER_ID, or set {}",
                        env::BOT_OWNER_IDS
                    )
                })?,
            };
            let now = clock.now_ms();
            store
                .allow(&AllowEntry::new(add.guild, by, now, &add.note))
                .await?;
            if store.access_request(add.guild).await?.is_some() {
                store.close_request(add.guild).await?;
            }
            let entry = AuditEntry::new(
                AuditScope::Bot,
                now,
                Some(by),
                AuditAction::AllowlistAdd,
                AuditOrigin::Cli,
            )
            .on(add.guild)
            .with_detail(&add.note);
            store.audit(&entry).await?;
            writeln!(out, "allowed guild {}", add.guild)?;
        }
        AllowlistCommand::Remove { guild, by } => {
            if !store.revoke(guild).await? {
                bail!("guild {guild} was not on the allowlist");
            }
            let by: Option<UserId> = by.or(settings.owners()?.first());
            let entry = AuditEntry::new(
                AuditScope::Bot,
                clock.now_ms(),
                by,
                AuditAction::AllowlistRemove,
                AuditOrigin::Cli,
            )
            .on(guild);
            store.audit(&entry).await?;
            writeln!(out, "removed guild {guild}")?;
        }
        AllowlistCommand::Requests => {
            let pending = store.pending_requests().await?;
            if pending.is_empty() {
                writeln!(out, "no guild is waiting for a decision")?;
            }
            for r in pending {
                writeln!(
                    out,
                    "{}\t{}\tasked by {} at {} for {} listener(s)\t{}",
                    r.guild_id,
                    r.server_name,
                    r.requested_by,
                    humantime::format_rfc3339_seconds(
                        UNIX_EPOCH + Duration::from_millis(r.requested_at_ms)
                    ),
                    r.expected_listeners,
                    r.use_case.replace('\n', " ")
                )?;
            }
        }
        AllowlistCommand::List => {
            let entries = store.list_allowed().await?;
            if entries.is_empty() {
                writeln!(out, "the allowlist is empty")?;
            }
            for e in entries {
                let at = humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + Duration::from_millis(e.approved_at_ms),
                );
                writeln!(
                    out,
                    "{}\tapproved by {} at {}\t{}",
                    e.guild_id, e.approved_by, at, e.note
                )?;
            }
        }
    }
    Ok(())
}

pub async fn open_store(settings: &Source, clock: Arc<dyn Clock>) -> anyhow::Result<SharedStore> {
    let config = settings.store()?;
    timmybot_store::open(&config, clock)
        .await
        .with_context(|| format!("opening the store ({config:?})"))
}
