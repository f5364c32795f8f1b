//! `timmybot allowlist add|remove|list`, against whichever store STORE names.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context};
use timmybot_shared::clock::{Clock, SystemClock};
use timmybot_shared::domain::{AllowEntry, BotOwners};
use timmybot_shared::names::env;
use timmybot_shared::store::config::StoreConfig;
use timmybot_shared::store::SharedStore;

use crate::args::AllowlistCommand;

pub async fn run(cmd: AllowlistCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(clock.clone()).await?;
    match cmd {
        AllowlistCommand::Add(add) => {
            let by = match add.by {
                Some(by) => by,
                None => owners()?.first().with_context(|| {
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

fn owners() -> anyhow::Result<BotOwners> {
    let raw = std::env::var(env::BOT_OWNER_IDS).unwrap_or_default();
    BotOwners::parse(&raw).with_context(|| {
        format!(
            "{} is not a comma-separated list of user ids",
            env::BOT_OWNER_IDS
        )
    })
}

async fn open_store(clock: Arc<dyn Clock>) -> anyhow::Result<SharedStore> {
    let config = StoreConfig::from_env()?;
    config
        .open(clock)
        .await
        .with_context(|| format!("opening the store ({config:?})"))
}
