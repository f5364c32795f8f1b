//! The voice worker: configuration, wiring, run.

use voice_worker::{configuration::Settings, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    timmybot_shared::telemetry::init_json_logs();
    let settings = Settings::load().await?;
    tracing::info!(?settings, "starting the voice worker");
    startup::run(settings).await
}
