//! Wiring: settings in, a ready Router out.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use timmybot_shared::bus::sqs::SqsBus;
use timmybot_shared::clock::{Clock, SystemClock};

use crate::adapters::discord::RestVoiceLookup;
use crate::adapters::ecs::EcsWaker;
use crate::configuration::Settings;
use crate::core::ports::WorkerWaker;
use crate::core::{Core, Ports};
use crate::routes::{router, App};

/// Discord's REST calls share the 3 s reply budget.
const REST_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn build(settings: Settings) -> anyhow::Result<Router> {
    timmybot_shared::tls::install_crypto_provider();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = settings.store.open(clock.clone()).await?;
    let aws = timmybot_shared::aws::load_config().await;
    let bus = Arc::new(SqsBus::new(
        aws_sdk_sqs::Client::new(&aws),
        settings.intent_queue_url,
    ));
    let http = twilight_http::Client::builder()
        .token(settings.discord_token)
        .timeout(REST_TIMEOUT)
        .build();
    let waker = settings.worker.map(|(cluster, service)| {
        Arc::new(EcsWaker::new(
            aws_sdk_ecs::Client::new(&aws),
            cluster,
            service,
        )) as Arc<dyn WorkerWaker>
    });
    let ports = Ports {
        store,
        bus,
        clock,
        voice: Arc::new(RestVoiceLookup::new(http)),
        waker,
    };
    let core = Core::new(ports, settings.owners, settings.application_id);
    Ok(router(Arc::new(App {
        verifier: settings.verifier,
        core: Arc::new(core),
    })))
}
