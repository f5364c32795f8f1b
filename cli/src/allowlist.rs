//! `timmybot allowlist add|remove|list`, against whichever store STORE names.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};
use timmybot_config::names::env;
use timmybot_config::Source;
use timmybot_domain::{AllowEntry, Clock, SystemClock};
use timmybot_store::SharedStore;

use crate::args::AllowlistCommand;

pub async fn run(cmd: AllowlistCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let settings = Source::load().await?;
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
            store
                .allow(&AllowEntry::new(add.guild, by, clock.now_ms(), &add.note))
                .await?;
            writeln!(out, "allowed guild {}", add.guild)?;
        }
        AllowlistCommand::Remove { guild } => {
            if !store.revoke(guild).await? {
                bail!("guild {guild} was not on the allowlist");
            }
            writeln!(out, "removed guild {guild}")?;
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

async fn open_store(settings: &Source, clock: Arc<dyn Clock>) -> anyhow::Result<SharedStore> {
    let config = settings.store()?;
    timmybot_store::open(&config, clock)
        .await
        .with_context(|| format!("opening the store ({config:?})"))
}
