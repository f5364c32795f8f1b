//! The voice worker: configuration, wiring, run.

use timmybot_config::{Source, WorkerSettings};
use voice_worker::startup;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    timmybot_config::telemetry::init_json_logs();
    let settings = WorkerSettings::read(&Source::load().await?)?;
    tracing::info!(?settings, "starting the voice worker");
    startup::run(settings).await
}
