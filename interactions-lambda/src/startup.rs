//! Wiring: settings in, a ready Router out.

use std::sync::Arc;

use axum::Router;
use timmybot_shared::clock::{Clock, SystemClock};

use crate::configuration::Settings;
use crate::core::Core;
use crate::routes::{router, App};

pub async fn build(settings: Settings) -> anyhow::Result<Router> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = settings.store.open(clock.clone()).await?;
    let core = Core::new(store, clock.clone(), settings.owners);
    Ok(router(Arc::new(App {
        verifier: settings.verifier,
        core,
        clock,
    })))
}
