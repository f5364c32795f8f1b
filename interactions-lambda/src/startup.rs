//! Wiring: settings in, a ready Router out.

use std::sync::Arc;

use axum::Router;
use timmybot_shared::bus::sqs::SqsBus;
use timmybot_shared::clock::{Clock, SystemClock};

use crate::configuration::Settings;
use crate::core::Core;
use crate::routes::{router, App};

pub async fn build(settings: Settings) -> anyhow::Result<Router> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = settings.store.open(clock.clone()).await?;
    let aws = timmybot_shared::aws::load_config().await;
    let bus = Arc::new(SqsBus::new(
        aws_sdk_sqs::Client::new(&aws),
        settings.intent_queue_url,
    ));
    let core = Core::new(store, bus, clock.clone(), settings.owners);
    Ok(router(Arc::new(App {
        verifier: settings.verifier,
        core,
        clock,
    })))
}
