//! Wiring: the gateway shards and songbird on the Discord side, the adapters, and the
//! [`Worker`] on them. [`run`] is the standalone worker on AWS; [`run_with`] takes the store,
//! bus and service from its caller (embedded mode brings SQLite and the in-process bus).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use songbird::shards::TwilightMap;
use songbird::Songbird;
use timmybot_bus::ecs::EcsService;
use timmybot_bus::sqs::SqsBus;
use timmybot_bus::{IntentBus, WorkerService};
use timmybot_config::WorkerSettings;
use timmybot_discord::ids::ToTwilight;
use timmybot_domain::{Clock, SystemClock};
use timmybot_store::SharedStore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{watch, Notify};
use twilight_gateway::{ConfigBuilder, Event, Intents};

use crate::adapters::discord::TwilightNotifier;
use crate::adapters::presence::VoiceStates;
use crate::adapters::songbird::SongbirdVoice;
use crate::health::{self, HealthState};
use crate::identify::{BudgetQueue, IdentifyLog, DAILY_BUDGET};
use crate::worker::{open_sources, Ports, Worker};

/// What the worker runs on, besides the Discord side this module builds. The standalone
/// worker uses DynamoDB, SQS and ECS; embedded mode (`timmybot serve`) passes SQLite and the
/// in-process bus.
pub struct Wiring {
    pub store: SharedStore,
    pub bus: Arc<dyn IntentBus>,
    /// `None`: nothing to scale (embedded mode stays up).
    pub service: Option<Arc<dyn WorkerService>>,
    /// The gateway's voice-state cache; embedded mode also answers "which channel is the
    /// member in" from it.
    pub states: Arc<VoiceStates>,
    /// Every gateway event is also sent here (embedded mode reads INTERACTION_CREATE).
    pub events: Option<UnboundedSender<Event>>,
}

/// Runs the standalone worker until SIGTERM or Ctrl-C, then drains.
pub async fn run(settings: WorkerSettings) -> anyhow::Result<()> {
    let queue_url = settings.queue_url()?.to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = timmybot_store::open(&settings.store, clock).await?;
    let aws = timmybot_config::aws::load_config().await;
    let service = settings
        .worker_service
        .as_ref()
        .map(|name| Arc::new(EcsService::from_sdk(&aws, name)) as Arc<dyn WorkerService>);
    let wiring = Wiring {
        store,
        bus: Arc::new(SqsBus::from_sdk(&aws, queue_url)),
        service,
        states: Arc::new(VoiceStates::default()),
        events: None,
    };
    run_with(settings, wiring, shutdown_signal()).await
}

/// Runs the worker on `wiring` until `shutdown` completes, then drains.
pub async fn run_with(
    settings: WorkerSettings,
    wiring: Wiring,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let Wiring {
        store,
        bus,
        service,
        states,
        events,
    } = wiring;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http =
        timmybot_discord::rest::client(&settings.discord, timmybot_discord::rest::DEFAULT_TIMEOUT);

    // The identify log the last task left, so a crash loop stays within the budget.
    let previous = match store.last_beat().await {
        Ok(beat) => beat.map(|hb| hb.identifies).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the last heartbeat failed; starting a fresh identify log");
            Vec::new()
        }
    };
    let identifies = Arc::new(IdentifyLog::new(previous, DAILY_BUDGET));
    let intents = Intents::GUILDS | Intents::GUILD_VOICE_STATES;
    let mut config = ConfigBuilder::new(settings.discord.token.expose_secret().to_owned(), intents)
        .queue(BudgetQueue::new(identifies.clone(), clock.clone()));
    if let Some(proxy) = &settings.discord.gateway_proxy {
        config = config.proxy_url(proxy.clone());
    }
    let config = config.build();
    let shards: Vec<_> = match settings.shards {
        Some(r) => {
            twilight_gateway::create_iterator(r.first..r.last + 1, r.count, config, |_, b| {
                b.build()
            })
            .collect()
        }
        None => twilight_gateway::create_recommended(&http, config, |_, b| b.build())
            .await
            .context("asking Discord how many shards to run")?
            .collect(),
    };
    let senders: HashMap<u32, _> = shards
        .iter()
        .map(|s| (s.id().number(), s.sender()))
        .collect();
    // songbird's default scheduler is one per process, bound to the first runtime that uses
    // it; a worker's own keeps it on this runtime, so a worker can also run embedded.
    let scheduler = songbird::driver::Scheduler::new(songbird::driver::SchedulerConfig::default());
    let voice_config = songbird::Config::default().scheduler(scheduler.clone());
    let songbird = Arc::new(Songbird::twilight_from_config(
        Arc::new(TwilightMap::new(senders)),
        settings.discord.application_id.to_twilight().cast(),
        voice_config,
    ));
    let scratch = std::env::temp_dir().join(format!("timmybot-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("making the scratch folder {}", scratch.display()))?;
    let sources = Arc::new(open_sources(
        &settings,
        store.clone(),
        clock.clone(),
        &scratch,
    )?);
    let worker = Worker::build(
        &settings,
        Ports {
            store,
            bus,
            clock,
            voice: Arc::new(SongbirdVoice::new(
                songbird.clone(),
                sources.clone(),
                settings
                    .voice_bitrate
                    .unwrap_or(timmybot_config::VoiceBitrate::AWS_DEFAULT),
            )),
            presence: states.clone(),
            notifier: Arc::new(TwilightNotifier::new(http)),
            sources,
            service,
            identifies,
        },
    );

    // The gateway outlives the drain: leaving a call is an op 4 sent through the shard.
    let (gateway_stop_tx, gateway_stop_rx) = watch::channel(false);
    let ready = Arc::new(Notify::new());
    let mut shard_tasks = tokio::task::JoinSet::new();
    for shard in shards {
        shard_tasks.spawn(crate::gateway::run_shard(
            shard,
            songbird.clone(),
            states.clone(),
            ready.clone(),
            gateway_stop_rx.clone(),
            events.clone(),
            worker.players.deps().metrics.clone(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(settings.health_addr)
        .await
        .with_context(|| format!("binding the health port {}", settings.health_addr))?;
    let health = health::router(HealthState {
        players: worker.players.clone(),
        stats: worker.stats.clone(),
        started_at_ms: worker.lifecycle.started_at_ms,
        scheduler: Some(scheduler),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, health).await {
            tracing::warn!(error = %e, "health endpoint stopped");
        }
    });

    worker.run(ready, shutdown).await;
    let _ = gateway_stop_tx.send(true);
    while shard_tasks.join_next().await.is_some() {}
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// SIGTERM (ECS stopping the task) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
