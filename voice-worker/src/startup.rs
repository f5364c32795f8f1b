//! Wiring: the gateway shards and songbird on the Discord side, the adapters, and the
//! [`Worker`] on them. [`run`] is the standalone worker on AWS; [`run_with`] takes the store,
//! bus and service from its caller (embedded mode brings SQLite and the in-process bus).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use timmybot_bus::ecs::EcsService;
use timmybot_bus::sqs::SqsBus;
use timmybot_bus::{IntentBus, WorkerService};
use timmybot_config::WorkerSettings;
use timmybot_domain::{Clock, ShardSpan, SystemClock};
use timmybot_store::SharedStore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use twilight_gateway::{ConfigBuilder, Event, Intents};
use twilight_model::gateway::connection_info::BotConnectionInfo;

use crate::adapters::calls::{Calls, ShardSenders};
use crate::adapters::discord::TwilightNotifier;
use crate::adapters::presence::VoiceStates;
use crate::adapters::radio::OpenRadio;
use crate::adapters::songbird::SongbirdVoice;
use crate::health::{self, HealthState};
use crate::identify::{IdentifyLimits, IdentifyLog, IdentifyQueue, DAILY_BUDGET};
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
    /// Linked accounts: library playlists and pasted Spotify playlists are read with the
    /// requester's own token. `None`: without them.
    pub accounts: Option<Arc<timmybot_accounts::Accounts>>,
}

/// Runs the standalone worker until SIGTERM or Ctrl-C, then drains.
pub async fn run(settings: WorkerSettings) -> anyhow::Result<()> {
    let queue_url = settings.queue_url()?.to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = timmybot_store::open(&settings.store, clock.clone()).await?;
    let accounts =
        timmybot_accounts::Accounts::open(&settings.accounts, store.clone(), clock, None)?;
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
        accounts,
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
        accounts,
    } = wiring;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http =
        timmybot_discord::rest::client(&settings.discord, timmybot_discord::rest::DEFAULT_TIMEOUT);

    let place = settings.place;
    // How many shards Discord recommends, and how it limits identifies.
    let info = gateway_info(&http).await;
    let shards = match (place.shards, &info) {
        (Some(span), _) => span,
        (None, Ok(info)) => ShardSpan::all(info.shards)
            .with_context(|| format!("Discord recommended {} shards", info.shards))?,
        (None, Err(e)) => {
            anyhow::bail!("asking Discord how many shards to run (GET /gateway/bot): {e}")
        }
    };
    let limits = match &info {
        Ok(info) => limits(info, clock.now_ms()),
        Err(e) => {
            tracing::warn!(error = %e, "GET /gateway/bot failed; identifying one shard per 5 s");
            IdentifyLimits::DEFAULT
        }
    };
    tracing::info!(
        worker = %place.index,
        shard_count = shards.count(),
        first = shards.first(),
        last = shards.last(),
        max_concurrency = limits.max_concurrency,
        "running shards"
    );

    // The identify log the last task of this index left, so a crash loop stays within the
    // worker's share of the budget.
    let previous = match store.last_beat(place.index).await {
        Ok(beat) => beat.map(|hb| hb.identifies).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the last heartbeat failed; starting a fresh identify log");
            Vec::new()
        }
    };
    let share = shards.identify_share(u32::try_from(DAILY_BUDGET).unwrap_or(u32::MAX));
    let identifies = Arc::new(IdentifyLog::new(previous, share as usize));
    let intents = Intents::GUILDS | Intents::GUILD_VOICE_STATES;
    let queue = IdentifyQueue::new(identifies.clone(), clock.clone(), store.clone(), limits);
    let mut config =
        ConfigBuilder::new(settings.discord.token.expose_secret().to_owned(), intents).queue(queue);
    if let Some(proxy) = &settings.discord.gateway_proxy {
        config = config.proxy_url(proxy.clone());
    }
    let config = config.build();
    let gateway_shards: Vec<_> = twilight_gateway::create_iterator(
        shards.first()..shards.last() + 1,
        shards.count(),
        config,
        |_, b| b.build(),
    )
    .collect();
    let senders: HashMap<u32, _> = gateway_shards
        .iter()
        .map(|s| (s.id().number(), s.sender()))
        .collect();
    // songbird's default scheduler is one per process, bound to the first runtime that uses
    // it; a worker's own keeps it on this runtime, so a worker can also run embedded.
    let scheduler = songbird::driver::Scheduler::new(songbird::driver::SchedulerConfig::default());
    let voice_config = songbird::Config::default().scheduler(scheduler.clone());
    let calls = Arc::new(Calls::new(
        ShardSenders::new(shards.count(), senders),
        settings.discord.application_id.non_zero(),
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
        accounts,
    )?);
    let worker = Worker::build(
        &settings,
        Ports {
            store,
            bus,
            clock,
            voice: Arc::new(SongbirdVoice::new(
                calls.clone(),
                sources.clone(),
                settings
                    .voice_bitrate
                    .unwrap_or(timmybot_config::VoiceBitrate::AWS_DEFAULT),
            )),
            presence: states.clone(),
            notifier: Arc::new(TwilightNotifier::new(http)),
            radio: Some(Arc::new(OpenRadio::new(
                &settings.accounts.urls,
                sources.clone(),
            ))),
            sources,
            service,
            identifies,
            worker: place.index,
            shards,
        },
    );

    // The gateway outlives the drain: leaving a call is an op 4 sent through the shard.
    let (gateway_stop_tx, gateway_stop_rx) = watch::channel(false);
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let mut shard_tasks = tokio::task::JoinSet::new();
    for shard in gateway_shards {
        shard_tasks.spawn(crate::gateway::run_shard(
            shard,
            calls.clone(),
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
        states: states.clone(),
    });
    // It answers through the drain, and then lets its port go: an embedded worker (or a
    // test's) started again binds the same one.
    let (health_stop_tx, health_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let health_task = tokio::spawn(async move {
        let stopped = async {
            let _ = health_stop_rx.await;
        };
        if let Err(e) = axum::serve(listener, health)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::warn!(error = %e, "health endpoint stopped");
        }
    });

    worker.run(ready, shutdown).await;
    let _ = gateway_stop_tx.send(true);
    while shard_tasks.join_next().await.is_some() {}
    let _ = health_stop_tx.send(());
    let _ = health_task.await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// `GET /gateway/bot`: the recommended shard count and the identify limits.
async fn gateway_info(http: &twilight_http::Client) -> anyhow::Result<BotConnectionInfo> {
    Ok(http.gateway().authed().await?.model().await?)
}

/// Discord's identify limits as of `now_ms`.
fn limits(info: &BotConnectionInfo, now_ms: u64) -> IdentifyLimits {
    let limit = &info.session_start_limit;
    IdentifyLimits {
        max_concurrency: limit.max_concurrency.max(1),
        not_before_ms: (limit.remaining == 0).then(|| now_ms.saturating_add(limit.reset_after)),
    }
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
