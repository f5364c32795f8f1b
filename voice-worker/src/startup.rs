//! Wiring: the store, the bus, the gateway, songbird, the players and the lifecycle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use songbird::shards::TwilightMap;
use songbird::Songbird;
use timmybot_shared::bus::sqs::SqsBus;
use timmybot_shared::bus::IntentBus;
use timmybot_shared::clock::{Clock, SystemClock};
use timmybot_shared::retry::RetryPolicy;
use timmybot_shared::sources::spotify::SpotifyApi;
use timmybot_shared::sources::{Guard, Sources, SourcesConfig};
use timmybot_shared::store::SharedStore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{watch, Notify};
use twilight_gateway::{ConfigBuilder, Event, Intents};

use crate::adapters::discord::{rest_client, TwilightNotifier, VoiceStates};
use crate::adapters::ecs::EcsScaler;
use crate::adapters::songbird::SongbirdVoice;
use crate::configuration::Settings;
use crate::consumer::{Consumer, ConsumerStats, Players};
use crate::health::{self, HealthState};
use crate::identify::{BudgetQueue, IdentifyLog, DAILY_BUDGET};
use crate::lifecycle::{Lifecycle, LifecycleConfig, HEARTBEAT_EVERY};
use crate::player::Deps;
use crate::ports::Scaler;

/// How long to wait for the gateway before resuming anyway.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the worker runs on. The standalone worker uses DynamoDB, SQS and ECS; embedded
/// mode (`timmybot serve`) passes SQLite and the in-process bus.
pub struct Wiring {
    pub store: SharedStore,
    pub bus: Arc<dyn IntentBus>,
    /// `None`: nothing to scale (embedded mode stays up).
    pub scaler: Option<Arc<dyn Scaler>>,
    /// The gateway's voice-state cache; embedded mode also answers "which channel is the
    /// member in" from it.
    pub states: Arc<VoiceStates>,
    /// Every gateway event is also sent here (embedded mode reads INTERACTION_CREATE).
    pub events: Option<UnboundedSender<Event>>,
}

/// Runs the standalone worker until SIGTERM or Ctrl-C, then drains.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    timmybot_shared::tls::install_crypto_provider();
    let queue_url = settings.queue_url()?.to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = settings.store.open(clock).await?;
    let aws = timmybot_shared::aws::load_config().await;
    let bus: Arc<dyn IntentBus> = Arc::new(SqsBus::new(aws_sdk_sqs::Client::new(&aws), queue_url));
    let scaler = settings.worker_service.as_ref().map(|(cluster, service)| {
        Arc::new(EcsScaler::new(
            aws_sdk_ecs::Client::new(&aws),
            cluster.clone(),
            service.clone(),
        )) as Arc<dyn Scaler>
    });
    let wiring = Wiring {
        store,
        bus,
        scaler,
        states: Arc::new(VoiceStates::default()),
        events: None,
    };
    run_with(settings, wiring, shutdown_signal()).await
}

/// Runs the worker on `wiring` until `shutdown` completes, then drains.
pub async fn run_with(
    settings: Settings,
    wiring: Wiring,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let Wiring {
        store,
        bus,
        scaler,
        states,
        events,
    } = wiring;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let started_at_ms = clock.now_ms();

    let http = rest_client(&settings.discord_token, settings.rest_proxy.as_deref());

    // The identify log the last task left, so a crash loop stays within the budget.
    let previous = store
        .last_beat()
        .await
        .ok()
        .flatten()
        .map(|hb| hb.identifies)
        .unwrap_or_default();
    let identifies = Arc::new(IdentifyLog::new(previous, DAILY_BUDGET));
    let intents = Intents::GUILDS | Intents::GUILD_VOICE_STATES;
    let mut config = ConfigBuilder::new(settings.discord_token.clone(), intents)
        .queue(BudgetQueue::new(identifies.clone(), clock.clone()));
    if let Some(proxy) = &settings.gateway_proxy {
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
    let voice_config = songbird::Config::default().scheduler(songbird::driver::Scheduler::new(
        songbird::driver::SchedulerConfig::default(),
    ));
    let songbird = Arc::new(Songbird::twilight_from_config(
        Arc::new(TwilightMap::new(senders)),
        twilight_model::id::Id::<twilight_model::id::marker::UserMarker>::new(
            settings.application_id,
        ),
        voice_config,
    ));
    let scratch = std::env::temp_dir().join(format!("timmybot-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let spotify = match &settings.spotify {
        Some((id, secret)) => Some(SpotifyApi::new(
            id.clone(),
            secret.clone(),
            SpotifyApi::ACCOUNTS,
            SpotifyApi::API,
        )?),
        None => None,
    };
    let sources = Sources::new(
        SourcesConfig {
            ytdl_program: settings.ytdl_program.clone(),
            ytdl_args: settings.ytdl_args(&scratch)?,
            guard: Guard::default(),
            spotify,
            music_dir: settings.music_dir.clone(),
        },
        store.clone(),
        clock.clone(),
    )?;
    let deps = Arc::new(Deps {
        store: store.clone(),
        clock: clock.clone(),
        voice: Arc::new(SongbirdVoice::new(songbird.clone())),
        presence: states.clone(),
        notifier: Arc::new(TwilightNotifier::new(http)),
        sources: Arc::new(sources),
        retry: RetryPolicy::default(),
        idle_leave: settings.idle_leave,
        active: Mutex::new(Default::default()),
    });
    let players = Players::new(deps);
    let stats = Arc::new(ConsumerStats::default());
    let lifecycle = Arc::new(Lifecycle {
        config: LifecycleConfig {
            task_id: format!("worker-{}", ulid::Ulid::new()),
            heartbeat_every: HEARTBEAT_EVERY,
            idle_shutdown: settings.idle_shutdown,
            tick_every: std::time::Duration::from_secs(5),
        },
        players: players.clone(),
        stats: stats.clone(),
        scaler,
        started_at_ms,
        identifies,
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    // The gateway outlives the drain: leaving a call is an op 4 sent through the shard.
    let (gateway_stop_tx, gateway_stop_rx) = watch::channel(false);
    let ready = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    for shard in shards {
        tasks.spawn(crate::gateway::run_shard(
            shard,
            songbird.clone(),
            states.clone(),
            ready.clone(),
            gateway_stop_rx.clone(),
            events.clone(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(settings.health_addr)
        .await
        .with_context(|| format!("binding the health port {}", settings.health_addr))?;
    let health = health::router(HealthState {
        players: players.clone(),
        stats: stats.clone(),
        started_at_ms,
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, health).await {
            tracing::warn!(error = %e, "health endpoint stopped");
        }
    });

    lifecycle.beat().await;
    // Resume once the gateway is up (joins need it); intents are taken meanwhile.
    let resumer = lifecycle.clone();
    tokio::spawn(async move {
        if tokio::time::timeout(READY_WAIT, ready.notified())
            .await
            .is_err()
        {
            tracing::warn!("the gateway is not ready after {READY_WAIT:?}; resuming anyway");
        }
        resumer.resume().await;
    });

    let consumer = Consumer {
        bus,
        players,
        stats,
    };
    let life = lifecycle.clone();
    let life_stop = stop_rx.clone();
    let life_task = tokio::spawn(async move { life.run(life_stop).await });
    let consumer_stop = stop_rx.clone();
    let consume = tokio::spawn(async move { consumer.run(consumer_stop).await });

    shutdown.await;
    tracing::info!("shutting down: draining");
    let _ = stop_tx.send(true);
    let _ = consume.await;
    let _ = life_task.await;
    lifecycle.drain().await;
    let _ = gateway_stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
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
