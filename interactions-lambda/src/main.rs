//! The interactions endpoint: on Lambda, or locally with `--listen ADDR`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use interactions_lambda::startup;
use timmybot_config::{InteractionsSettings, Source};

/// TimmyBot's interactions endpoint.
#[derive(Parser)]
struct Args {
    /// Serve HTTP on this address instead of running as a Lambda function.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    timmybot_config::telemetry::init_json_logs();
    let args = Args::parse();
    let settings = InteractionsSettings::read(&Source::load().await?)?;
    let app = startup::build(settings).await?;
    match args.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            tracing::info!(%addr, "serving interactions");
            axum::serve(listener, app).await?;
        }
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => {
            lambda_http::run(app)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        None => anyhow::bail!("not running on Lambda: pass --listen ADDR to serve locally"),
    }
    Ok(())
}
