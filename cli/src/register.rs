//! `timmybot register-commands [--guild ID]`: bulk-overwrites the slash commands.

use std::io::Write;

use anyhow::Context;
use twilight_model::id::Id;

use timmybot_shared::commands;
use timmybot_shared::domain::GuildId;
use timmybot_shared::names::env;

pub async fn run(guild: Option<GuildId>, out: &mut impl Write) -> anyhow::Result<()> {
    let token = required(env::DISCORD_TOKEN)?;
    let app: u64 = required(env::DISCORD_APPLICATION_ID)?
        .parse()
        .ok()
        .filter(|id| *id != 0)
        .with_context(|| {
            format!(
                "{} must be the application's numeric id",
                env::DISCORD_APPLICATION_ID
            )
        })?;
    let http = voice_worker::adapters::discord::rest_client(
        &token,
        std::env::var(env::DISCORD_REST_PROXY).ok().as_deref(),
    );
    let registered = overwrite(&http, app, guild).await?;
    match guild {
        Some(g) => writeln!(out, "registered {registered} commands in guild {g}")?,
        None => writeln!(out, "registered {registered} commands globally")?,
    }
    Ok(())
}

/// Bulk-overwrites the commands, globally or in one guild; returns how many Discord holds.
pub async fn overwrite(
    http: &twilight_http::Client,
    app: u64,
    guild: Option<GuildId>,
) -> anyhow::Result<usize> {
    let specs = commands::specs().context("a command spec breaks Discord's rules")?;
    let app = Id::new_checked(app).context("the application id is 0")?;
    let interactions = http.interaction(app);
    let registered = match guild {
        Some(g) => interactions
            .set_guild_commands(Id::new(g.get()), &specs)
            .await
            .context("Discord refused the commands")?,
        None => interactions
            .set_global_commands(&specs)
            .await
            .context("Discord refused the commands")?,
    };
    Ok(registered
        .models()
        .await
        .context("reading Discord's answer")?
        .len())
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .with_context(|| format!("{name} is not set"))
}
