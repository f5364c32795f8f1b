//! `timmybot register-commands [--guild ID]`: bulk-overwrites the slash commands.

use std::io::Write;

use anyhow::Context;
use twilight_model::id::marker::ApplicationMarker;
use twilight_model::id::Id;

use timmybot_config::DiscordSettings;
use timmybot_discord::ids::ToTwilight;
use timmybot_discord::spec;
use timmybot_domain::GuildId;

pub async fn run(guild: Option<GuildId>, out: &mut impl Write) -> anyhow::Result<()> {
    let discord = DiscordSettings::read(&crate::settings().await?)?;
    let http = timmybot_discord::rest::client(&discord, timmybot_discord::rest::DEFAULT_TIMEOUT);
    let registered = overwrite(&http, discord.application_id.to_twilight(), guild).await?;
    match guild {
        Some(g) => writeln!(out, "registered {registered} commands in guild {g}")?,
        None => writeln!(out, "registered {registered} commands globally")?,
    }
    Ok(())
}

/// Bulk-overwrites the commands, globally or in one guild; returns how many Discord holds.
pub async fn overwrite(
    http: &twilight_http::Client,
    app: Id<ApplicationMarker>,
    guild: Option<GuildId>,
) -> anyhow::Result<usize> {
    let specs = spec::specs().context("a command spec breaks Discord's rules")?;
    let interactions = http.interaction(app);
    let registered = match guild {
        Some(g) => interactions
            .set_guild_commands(g.to_twilight(), &specs)
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
