//! The command line's shape.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use timmybot_domain::{GuildId, UserId};

/// TimmyBot: a Discord music bot you host yourself. Try it offline with `timmybot demo`,
/// run it in your own server with `timmybot serve`.
#[derive(Debug, Parser)]
#[command(name = "timmybot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot with your bot token: gateway, commands and voice in one process, state in
    /// SQLite. Needs DISCORD_TOKEN and DISCORD_APPLICATION_ID (see the README).
    Serve(ServeArgs),
    /// Try the bot offline: a scripted session against a fake Discord on this machine.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Manage the guilds the bot may serve. Uses STORE (sqlite:PATH or dynamodb + TABLE_NAME).
    #[command(subcommand)]
    Allowlist(AllowlistCommand),
    /// Who changed what: allowlist changes and access decisions, or one guild's settings
    /// changes, newest first. Uses STORE like `allowlist`.
    Audit {
        /// One guild's log; the bot's own log without it.
        #[arg(long, value_parser = GuildId::parse)]
        guild: Option<GuildId>,
        /// How many entries at most.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Check a deployment: settings, the secret, the store, the queue, Discord, the clock and
    /// the tools; each problem with its fix. Exits non-zero when anything fails.
    Doctor {
        /// The same checks as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Register the slash commands with Discord (DISCORD_TOKEN, DISCORD_APPLICATION_ID).
    RegisterCommands {
        /// Register in one guild only: instant, for testing. Global otherwise.
        #[arg(long, value_parser = GuildId::parse)]
        guild: Option<GuildId>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AllowlistCommand {
    /// Let a guild use the bot.
    Add(AddArgs),
    /// Stop serving a guild.
    Remove {
        #[arg(value_parser = GuildId::parse)]
        guild: GuildId,
        /// Who removes it, for the audit log; defaults to the first of BOT_OWNER_IDS.
        #[arg(long, value_parser = UserId::parse)]
        by: Option<UserId>,
    },
    /// Show every allowed guild.
    List,
    /// Show the guilds waiting for a decision (approve one with `add`).
    Requests,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(value_parser = GuildId::parse)]
    pub guild: GuildId,
    /// Who approves it; defaults to the first of BOT_OWNER_IDS.
    #[arg(long, value_parser = UserId::parse)]
    pub by: Option<UserId>,
    /// A note for later, such as who asked.
    #[arg(long, default_value = "")]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also serve Discord's signed HTTP interactions on this address (needs
    /// DISCORD_PUBLIC_KEY). Without it, interactions arrive over the gateway.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve every guild the bot is in, not only the allowlisted ones: for a private bot.
    #[arg(long)]
    pub allow_all: bool,
    /// Leave the registered slash commands as they are.
    #[arg(long)]
    pub no_register: bool,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write what the (fake) voice channel heard.
    #[arg(long, default_value = "timmybot-demo.wav")]
    pub out: PathBuf,
    /// Play these instead of the generated tones: your own audio files (MP3, AAC/M4A, Ogg
    /// Vorbis, Opus, FLAC, WAV), or anything `/play` takes (a link, or words to search for).
    #[arg(long, num_args = 1.., value_name = "ITEM")]
    pub play: Vec<String>,
    /// With --play, skip to the next item after this many seconds of each.
    #[arg(long, value_name = "SECONDS", requires = "play")]
    pub seconds: Option<u64>,
    /// After the session, keep running with the web dashboard open on this machine, a track
    /// playing, until Ctrl-C: log in as "you" on the fake Discord's page.
    #[arg(long)]
    pub dashboard: bool,
}
