//! Wiring: settings in, a ready Router out.

use std::sync::Arc;

use axum::Router;
use secrecy::ExposeSecret;
use timmybot_bus::WorkerRoutes;
use timmybot_commands::adapters::{RestMessenger, RestVoiceLookup};
use timmybot_commands::{Core, Ports};
use timmybot_config::InteractionsSettings;
use timmybot_domain::{Clock, SystemClock};
use timmybot_edge::telemetry::Emf;
use timmybot_edge::{router, App, Verifier};
use timmybot_store::SharedStore;

/// The wake-up shares Discord's 3 s reply budget with everything else.
pub const WAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The AWS side the router talks to.
pub struct Backends {
    pub store: SharedStore,
    /// Each worker's queue and service, by index, routed by the settings' shard plan.
    pub workers: WorkerRoutes,
}

/// The Router on DynamoDB, SQS and ECS, as the settings name them.
pub async fn build(settings: InteractionsSettings) -> anyhow::Result<Router> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = timmybot_store::open(&settings.store, clock.clone()).await?;
    let aws = timmybot_config::aws::load_config().await;
    let workers = timmybot_bus::ecs::routes(&aws, &settings.routing, Some(WAKE_TIMEOUT))?;
    assemble(settings, Backends { store, workers }, clock)
}

/// The Router on the given backends: the Lambda's wiring, which the tests reuse on moto.
pub fn assemble(
    settings: InteractionsSettings,
    backends: Backends,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Router> {
    let verifier = Verifier::from_hex(&settings.public_key)?;
    let http = Arc::new(timmybot_discord::rest::client(
        &settings.discord,
        timmybot_discord::rest::INTERACTION_TIMEOUT,
    ));
    let accounts = timmybot_accounts::Accounts::open(
        &settings.accounts,
        backends.store.clone(),
        clock.clone(),
        None,
    )?;
    let ports = Ports {
        store: backends.store,
        workers: backends.workers,
        clock: clock.clone(),
        voice: Arc::new(RestVoiceLookup::new(http.clone())),
        messenger: Arc::new(RestMessenger::new(http.clone())),
    };
    let mut core = Core::new(ports, settings.owners, settings.discord.application_id);
    match accounts {
        Some(accounts) => core = core.with_accounts(accounts),
        None => tracing::warn!("no token_vault_key: linking accounts is off"),
    }
    let core = Arc::new(core);
    let dashboard = match (&settings.dashboard, &settings.accounts.vault_key) {
        (Some(dashboard), Some(key)) => Some(Arc::new(timmybot_dashboard::Dashboard::new(
            core.clone(),
            dashboard,
            settings.discord.application_id,
            key.expose_secret().as_bytes(),
            http,
            clock,
        )?)),
        (Some(_), None) => {
            tracing::warn!("the dashboard signs its cookies under token_vault_key, which is missing: the dashboard is off");
            None
        }
        (None, _) => None,
    };
    Ok(router(Arc::new(App {
        verifier,
        core,
        dashboard,
        telemetry: Arc::new(Emf {
            namespace: timmybot_edge::telemetry::NAMESPACE.into(),
        }),
    })))
}
