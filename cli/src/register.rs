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
    timmybot_shared::tls::install_crypto_provider();
    let mut http = twilight_http::Client::builder().token(token);
    if let Ok(proxy) = std::env::var(env::DISCORD_REST_PROXY) {
        http = http.proxy(proxy, true);
    }
    let http = http.build();
    let specs = commands::specs().context("a command spec breaks Discord's rules")?;
    let interactions = http.interaction(Id::new(app));
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
    let registered = registered
        .models()
        .await
        .context("reading Discord's answer")?;
    match guild {
        Some(g) => writeln!(out, "registered {} commands in guild {g}", registered.len())?,
        None => writeln!(out, "registered {} commands globally", registered.len())?,
    }
    Ok(())
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .with_context(|| format!("{name} is not set"))
}
