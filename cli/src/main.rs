//! `timmybot`: the command line. Configuration, wiring, run.

mod allowlist;
mod args;
mod audit;
#[cfg(feature = "demo")]
mod demo;
mod doctor;
mod embedded;
mod register;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// Where the CLI's settings come from: the environment, then `./.env`, then the secret.
async fn settings() -> Result<timmybot_config::Source, timmybot_config::ConfigError> {
    timmybot_config::Source::load_with_dotenv(std::path::Path::new(DOTENV)).await
}

/// The `.env` file every command reads, in the working directory.
const DOTENV: &str = ".env";

#[tokio::main]
async fn main() -> ExitCode {
    let args = args::Cli::parse();
    // The bot says what it is doing; the demo and the one-shot commands speak for themselves.
    let default_filter = match args.command {
        args::Command::Serve(_) => "warn,timmybot=info,voice_worker=info,timmybot_dashboard=info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match args.command {
        args::Command::Serve(serve) => serve::run(serve).await,
        #[cfg(feature = "demo")]
        args::Command::Demo(demo) => demo::run(demo).await,
        args::Command::Allowlist(cmd) => allowlist::run(cmd, &mut std::io::stdout()).await,
        args::Command::Doctor { json } => doctor::run(json, &mut std::io::stdout()).await,
        args::Command::Audit { guild, limit } => {
            audit::run(guild, limit, &mut std::io::stdout()).await
        }
        args::Command::RegisterCommands { guild } => {
            register::run(guild, &mut std::io::stdout()).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
