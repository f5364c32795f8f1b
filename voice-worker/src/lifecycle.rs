//! The worker's life: resume on start, heartbeat every 15 s, idle ticks for the players,
//! scale to zero without losing a late intent, and the SIGTERM drain.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use timmybot_bus::WorkerService;
use timmybot_domain::{GuildId, Heartbeat, ShardSpan, WorkerIndex};
use tokio::sync::{oneshot, watch};

use crate::consumer::ConsumerStats;
use crate::player::Job;
use crate::players::Players;

/// DESIGN.md: the heartbeat item is written every 15 s; the Lambda calls a worker awake
/// while its beat is at most 45 s old.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    pub task_id: String,
    /// This worker's index: its heartbeat item is `WORKER#<index>`.
    pub worker: WorkerIndex,
    /// The shards it runs: only their guilds are its to resume.
    pub shards: ShardSpan,
    pub heartbeat_every: Duration,
    /// Scale to zero after this long with no call and no intent.
    pub idle_shutdown: Duration,
    /// How often players check whether to leave an idle channel.
    pub tick_every: Duration,
}

/// What the idle watcher decided, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleState {
    Up,
    /// desiredCount was set to 0 at `since_ms`; the task polls until ECS stops it.
    Draining {
        since_ms: u64,
    },
}

pub struct Lifecycle {
    pub config: LifecycleConfig,
    pub players: Arc<Players>,
    pub stats: Arc<ConsumerStats>,
    /// The worker's own ECS service; `None` where nothing scales (embedded mode).
    pub service: Option<Arc<dyn WorkerService>>,
    pub started_at_ms: u64,
    /// Identify timestamps to carry in the heartbeat (see `identify`).
    pub identifies: Arc<crate::identify::IdentifyLog>,
    /// The previous task's guilds, still to be resumed: kept in this task's beats until then.
    pub carried: std::sync::Mutex<Vec<GuildId>>,
}

impl Lifecycle {
    /// Resumes every guild the last worker of this index was playing in (see
    /// [`Lifecycle::resume_from`]).
    pub async fn resume(&self) {
        if let Some(last) = self.last_beat().await {
            self.resume_from(last).await;
        }
    }

    /// The last beat the previous task of this index wrote. Read it before this task's
    /// first beat overwrites it; until [`Lifecycle::resume_from`] has run, this task's beats
    /// carry its guilds forward, so a crash before the gateway is up loses none.
    pub async fn last_beat(&self) -> Option<Heartbeat> {
        let deps = self.players.deps();
        match deps.store.last_beat(self.config.worker).await {
            Ok(Some(hb)) => {
                let mut carried = self.carried.lock().unwrap_or_else(|p| p.into_inner());
                carried.clone_from(&hb.active_guilds);
                Some(hb)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "reading the last heartbeat failed; nothing resumed");
                None
            }
        }
    }

    /// Resumes the guilds `last` names. A stale beat means the old worker died without
    /// saving: positions are taken as of that beat.
    pub async fn resume_from(&self, last: Heartbeat) {
        let deps = self.players.deps();
        let now = deps.clock.now_ms();
        let stale = now.saturating_sub(last.last_beat_ms)
            > 2 * self.config.heartbeat_every.as_millis() as u64;
        let freeze_at = stale.then_some(last.last_beat_ms);
        for guild in last.active_guilds {
            // Another worker now holds it if the shards were split differently since.
            if !self.config.shards.owns(guild) {
                tracing::warn!(%guild, "not resumed: its shard belongs to another worker now");
                continue;
            }
            let player = self.players.get(guild).await;
            let (tx, rx) = oneshot::channel();
            if player
                .send(Job::Resume {
                    freeze_at_ms: freeze_at,
                    done: tx,
                })
                .await
                .is_ok()
            {
                let _ = rx.await;
            }
        }
        self.carried
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub async fn beat(&self) {
        let deps = self.players.deps();
        let mut guilds = deps.active_guilds();
        for g in self
            .carried
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if !guilds.contains(g) {
                guilds.push(*g);
            }
        }
        self.write_beat(deps.clock.now_ms(), guilds).await;
    }

    async fn write_beat(&self, last_beat_ms: u64, active_guilds: Vec<GuildId>) {
        let deps = self.players.deps();
        let now = deps.clock.now_ms();
        let hb = Heartbeat {
            task_id: self.config.task_id.clone(),
            started_at_ms: self.started_at_ms,
            last_beat_ms,
            active_guilds,
            identifies: self.identifies.recent(now),
        };
        if let Err(e) = deps.store.beat(self.config.worker, &hb).await {
            tracing::warn!(error = %e, "writing the heartbeat failed");
        }
    }

    /// Heartbeats, idle ticks and the scale-to-zero watch, until `stop`.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut beat = tokio::time::interval(self.config.heartbeat_every);
        let mut tick = tokio::time::interval(self.config.tick_every);
        let mut scale = ScaleState::Up;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = beat.tick() => self.beat().await,
                // Persist an identify at once: a crash loop must not outrun the log.
                _ = self.identifies.spent.notified() => self.beat().await,
                _ = tick.tick() => {
                    for p in self.players.all().await {
                        let _ = p.send(Job::Tick { done: None }).await;
                    }
                    scale = self.watch_idle(scale).await;
                }
            }
        }
    }

    /// One step of the scale-to-zero rule (DESIGN.md): idle long enough → desiredCount 0 and
    /// keep polling; an intent during that gap → desiredCount 1 again.
    pub async fn watch_idle(&self, state: ScaleState) -> ScaleState {
        let Some(scaler) = &self.service else {
            return state;
        };
        let deps = self.players.deps();
        let now = deps.clock.now_ms();
        let calls = deps.active_guilds().len();
        let last_intent = self.stats.last_intent_ms.load(Ordering::Relaxed);
        let busy = calls > 0 || self.stats.in_flight.load(Ordering::Relaxed) > 0;
        let quiet_since = last_intent.max(self.started_at_ms);
        match state {
            ScaleState::Up
                if !busy
                    && now.saturating_sub(quiet_since)
                        >= self.config.idle_shutdown.as_millis() as u64 =>
            {
                match scaler.set_desired(0).await {
                    Ok(()) => {
                        tracing::info!("idle: asked ECS for zero tasks; polling until stopped");
                        ScaleState::Draining { since_ms: now }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "scaling to zero failed; will retry");
                        ScaleState::Up
                    }
                }
            }
            ScaleState::Draining { since_ms } if busy || last_intent >= since_ms => {
                match scaler.set_desired(1).await {
                    Ok(()) => {
                        tracing::info!("an intent arrived while draining: back to one task");
                        ScaleState::Up
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "scaling back up failed; will retry");
                        state
                    }
                }
            }
            s => s,
        }
    }

    /// SIGTERM: the consumer has stopped; save every guild's position, stop and leave.
    pub async fn drain(&self) {
        let to_resume = self.players.deps().active_guilds();
        for p in self.players.all().await {
            let (tx, rx) = oneshot::channel();
            if p.send(Job::Shutdown { done: tx }).await.is_ok() {
                let _ = rx.await;
            }
        }
        // The last beat names the guilds to resume, and is dated at the epoch so that the
        // Lambda sees the worker asleep at once and wakes the next one for a new command.
        self.write_beat(0, to_resume).await;
        tracing::info!("drained: positions saved, voice left");
    }
}
