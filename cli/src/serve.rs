//! `timmybot serve`: the real bot with a bot token, all in one process (see [`crate::embedded`]).
//! Settings come from the environment; a missing or bad one stops it with the name to set.

use anyhow::Context;
use timmybot_config::names::env;
use timmybot_config::{Source, WorkerSettings};
use timmybot_edge::Verifier;

use crate::args::ServeArgs;
use crate::embedded::Embedded;

/// Reads the settings from `src`.
pub fn settings(args: &ServeArgs, src: &Source) -> anyhow::Result<Embedded> {
    let worker = WorkerSettings::read(src).context(
        "timmybot serve needs a bot token and its application id; the README's \
         \"Get a bot token\" says where to find both",
    )?;
    let owners = src.owners()?;
    if owners.first().is_none() && !args.allow_all {
        anyhow::bail!(
            "set {} to your Discord user id (so you can /allowlist add guilds), \
             or pass --allow-all to serve every guild the bot is in",
            env::BOT_OWNER_IDS
        );
    }
    let listen = match args.listen {
        None => None,
        Some(addr) => Some((addr, verifier(src)?)),
    };
    let dashboard = timmybot_config::DashboardSettings::read(src, &worker.accounts)?;
    if dashboard.is_some() && args.listen.is_none() {
        anyhow::bail!(
            "{} turns the dashboard on, and it is served on --listen ADDR: pass --listen too",
            env::DISCORD_CLIENT_SECRET
        );
    }
    Ok(Embedded {
        dashboard,
        worker,
        owners,
        allow_all: args.allow_all,
        listen,
        register_commands: !args.no_register,
    })
}

fn verifier(src: &Source) -> anyhow::Result<Verifier> {
    let key = src.get(env::DISCORD_PUBLIC_KEY).with_context(|| {
        format!(
            "--listen serves Discord's signed requests: set {} (the application's public key)",
            env::DISCORD_PUBLIC_KEY
        )
    })?;
    Ok(Verifier::from_hex(&key)?)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = settings(&args, &crate::settings().await?)?;
    print_banner(&config);
    crate::embedded::run(config, voice_worker::startup::shutdown_signal()).await
}

fn print_banner(config: &Embedded) {
    let who = if config.allow_all {
        "every guild it is in (--allow-all)"
    } else {
        "the guilds on its allowlist"
    };
    eprintln!(
        "TimmyBot: connecting to Discord as application {}; serving {who}. Ctrl-C stops it.",
        config.worker.discord.application_id
    );
    if let Some((addr, _)) = &config.listen {
        eprintln!("TimmyBot: also serving signed HTTP interactions on http://{addr}/interactions");
        if let Some(d) = &config.dashboard {
            eprintln!("TimmyBot: the dashboard is at {}/dashboard", d.public_url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(allow_all: bool, listen: Option<&str>) -> ServeArgs {
        ServeArgs {
            listen: listen.map(|l| l.parse().unwrap()),
            allow_all,
            no_register: false,
        }
    }

    fn lookup(pairs: &[(&str, &str)]) -> Source {
        Source::from_pairs(pairs.iter().copied())
    }

    fn error(args: &ServeArgs, pairs: &[(&str, &str)]) -> String {
        format!("{:#}", settings(args, &lookup(pairs)).err().unwrap())
    }

    const BASE: [(&str, &str); 2] = [("DISCORD_TOKEN", "t"), ("DISCORD_APPLICATION_ID", "11")];

    #[test]
    fn each_missing_setting_is_named() {
        assert!(error(&args(true, None), &[]).contains("DISCORD_APPLICATION_ID is not set"));
        assert!(error(&args(true, None), &BASE[1..]).contains("DISCORD_TOKEN is not set"));
        assert!(error(&args(false, None), &BASE).contains("BOT_OWNER_IDS"));
        let e = error(&args(true, Some("127.0.0.1:8080")), &BASE);
        assert!(e.contains("DISCORD_PUBLIC_KEY"), "{e}");
        let mut bad = BASE.to_vec();
        bad.push(("IDLE_LEAVE", "later"));
        assert!(error(&args(true, None), &bad).contains("IDLE_LEAVE"));
    }

    #[test]
    fn a_token_and_an_owner_are_enough() {
        let mut pairs = BASE.to_vec();
        pairs.push(("BOT_OWNER_IDS", "42"));
        let config = settings(&args(false, None), &lookup(&pairs)).unwrap();
        assert!(!config.allow_all);
        assert!(config.register_commands);
        assert_eq!(
            config.worker.intent_queue_url, None,
            "no SQS: the bus is in-process"
        );
    }
}
