//! The worker, built from its settings and its ports: the players, the intent consumer and
//! the lifecycle. `startup` builds it on the real gateway, songbird, DynamoDB and SQS; the
//! tests build it the same way, on fakes and a manual clock.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret;
use timmybot_bus::{IntentBus, WorkerService};
use timmybot_config::WorkerSettings;
use timmybot_domain::{Clock, RetryPolicy, ShardSpan, WorkerIndex};
use timmybot_sources::spotify::SpotifyApi;
use timmybot_sources::{Guard, SetupError, Sources, SourcesConfig};
use timmybot_store::SharedStore;
use tokio::sync::{watch, Semaphore};

use crate::consumer::{Consumer, ConsumerStats};
use crate::identify::IdentifyLog;
use crate::lifecycle::{Lifecycle, LifecycleConfig, HEARTBEAT_EVERY};
use crate::player::Deps;
use crate::players::Players;
use crate::ports::{Notifier, Presence, Voice};

/// How often players check whether to leave an idle channel.
pub const TICK_EVERY: Duration = Duration::from_secs(5);
/// How long to wait for the gateway before resuming anyway, plus 5 s a shard.
pub const READY_WAIT: Duration = Duration::from_secs(30);
/// How long a join may take to become end-to-end encrypted (DAVE). The handshake takes a few
/// round trips, well under a second on Discord; past this the player gives up and says why.
pub const DAVE_WITHIN: Duration = Duration::from_secs(10);

/// Everything the worker talks to.
pub struct Ports {
    pub store: SharedStore,
    pub bus: Arc<dyn IntentBus>,
    pub clock: Arc<dyn Clock>,
    pub voice: Arc<dyn Voice>,
    pub presence: Arc<dyn Presence>,
    pub notifier: Arc<dyn Notifier>,
    pub sources: Arc<Sources>,
    /// Autoplay's choices; `None`: no autoplay.
    pub radio: Option<Arc<dyn crate::ports::Radio>>,
    /// The worker's own ECS service; `None` where nothing scales (embedded mode).
    pub service: Option<Arc<dyn WorkerService>>,
    /// The identifies this worker (and the tasks before it) spent today, shared with the
    /// gateway's identify queue.
    pub identifies: Arc<IdentifyLog>,
    /// Which worker this is, and the shards it runs (what the gateway connected).
    pub worker: WorkerIndex,
    pub shards: ShardSpan,
}

pub struct Worker {
    pub players: Arc<Players>,
    pub stats: Arc<ConsumerStats>,
    pub lifecycle: Arc<Lifecycle>,
    bus: Arc<dyn IntentBus>,
    shards: ShardSpan,
}

/// A running consumer: stop it with [`ConsumerTask::stop`].
pub struct ConsumerTask {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ConsumerTask {
    /// Stops taking intents and waits for the poll loop to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Worker {
    pub fn build(settings: &WorkerSettings, ports: Ports) -> Self {
        let started_at_ms = ports.clock.now_ms();
        let deps = Arc::new(Deps {
            store: ports.store,
            clock: ports.clock,
            voice: ports.voice,
            presence: ports.presence,
            notifier: ports.notifier,
            sources: ports.sources,
            radio: ports.radio,
            retry: RetryPolicy::default(),
            idle_leave: settings.idle_leave,
            dave_within: DAVE_WITHIN,
            active: Mutex::new(Default::default()),
            playing: Mutex::new(Default::default()),
            metrics: Arc::new(crate::metrics::WorkerMetrics::default()),
        });
        let players = Players::new(deps);
        let stats = Arc::new(ConsumerStats::default());
        let lifecycle = Arc::new(Lifecycle {
            config: LifecycleConfig {
                task_id: format!("worker-{}-{}", ports.worker, ulid::Ulid::new()),
                worker: ports.worker,
                shards: ports.shards,
                heartbeat_every: HEARTBEAT_EVERY,
                idle_shutdown: settings.idle_shutdown,
                tick_every: TICK_EVERY,
            },
            players: players.clone(),
            stats: stats.clone(),
            service: ports.service,
            started_at_ms,
            identifies: ports.identifies,
            carried: Default::default(),
        });
        Self {
            players,
            stats,
            lifecycle,
            bus: ports.bus,
            shards: ports.shards,
        }
    }

    /// Starts taking intents.
    pub fn spawn_consumer(&self) -> ConsumerTask {
        let consumer = Consumer {
            bus: self.bus.clone(),
            players: self.players.clone(),
            stats: self.stats.clone(),
            shards: self.shards,
        };
        let (stop, stopped) = watch::channel(false);
        ConsumerTask {
            stop,
            task: tokio::spawn(async move { consumer.run(stopped).await }),
        }
    }

    /// Beats, resumes the guilds the last worker played once `ready` (the gateway) fires,
    /// takes intents and keeps the lifecycle until `shutdown`; then stops taking intents and
    /// drains: positions saved, voice left.
    pub async fn run(
        &self,
        ready: Arc<Semaphore>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        // What the last task left to resume, read before this task's first beat replaces it.
        let last = self.lifecycle.last_beat().await;
        self.lifecycle.beat().await;
        // Resume once the gateway is up (joins need it); intents are taken meanwhile.
        let resumer = self.lifecycle.clone();
        let shards = self.shards.len();
        // Shards of one identify bucket start 5 s apart: give each its turn.
        let wait = READY_WAIT + crate::identify::IDENTIFY_SPACING * shards;
        tokio::spawn(async move {
            if tokio::time::timeout(wait, ready.acquire_many(shards))
                .await
                .is_err()
            {
                tracing::warn!("the gateway is not ready after {wait:?}; resuming anyway");
            }
            if let Some(last) = last {
                resumer.resume_from(last).await;
            }
        });
        let consumer = self.spawn_consumer();
        let (life_stop, life_stopped) = watch::channel(false);
        let life = self.lifecycle.clone();
        let life_task = tokio::spawn(async move { life.run(life_stopped).await });

        shutdown.await;
        tracing::info!("shutting down: draining");
        consumer.stop().await;
        let _ = life_stop.send(true);
        let _ = life_task.await;
        self.lifecycle.drain().await;
    }
}

/// The audio sources the settings describe. yt-dlp's cookies go to a private file in
/// `scratch`, never onto its command line.
pub fn open_sources(
    settings: &WorkerSettings,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    scratch: &Path,
    accounts: Option<Arc<timmybot_accounts::Accounts>>,
) -> anyhow::Result<Sources> {
    let spotify = settings
        .spotify
        .as_ref()
        .map(|app| {
            SpotifyApi::new(
                app.client_id.clone(),
                app.client_secret.expose_secret().to_owned(),
                &settings.accounts.urls.spotify_accounts,
                &settings.accounts.urls.spotify_api,
            )
        })
        .transpose()?;
    let mut ytdl_args = Vec::new();
    if let Some(cookies) = &settings.ytdl_cookies {
        let path = scratch.join("yt-dlp-cookies.txt");
        write_private(&path, cookies.expose_secret())?;
        ytdl_args = vec!["--cookies".into(), path.to_string_lossy().into_owned()];
    }
    let sources = Sources::new(
        SourcesConfig {
            ytdl_program: settings.ytdl_program.clone(),
            ytdl_args,
            guard: Guard::default(),
            spotify,
            linked: accounts.map(|a| {
                Arc::new(crate::adapters::linked::Linked(a))
                    as Arc<dyn timmybot_sources::LinkedAccounts>
            }),
            music_dir: settings.music_dir.clone(),
        },
        store,
        clock,
    )
    .map_err(|e: SetupError| anyhow::Error::new(e))?;
    Ok(sources)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ytdlp_cookies_go_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.txt");
        write_private(&path, "# Netscape HTTP Cookie File").unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("# Netscape"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the worker may read them");
        }
    }
}
