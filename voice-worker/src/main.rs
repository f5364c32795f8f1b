//! The voice worker: configuration, wiring, run.

use voice_worker::{configuration::Settings, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = Settings::load().await?;
    tracing::info!(?settings, "starting the voice worker");
    startup::run(settings).await
}
