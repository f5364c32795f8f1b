//! The intent consumer: long-polls the bus, hands each intent to its guild's player, keeps
//! the message invisible while the player works, and acks only after the state is written.
//! A message that does not decode is logged and left alone, so the queue's redrive policy
//! moves it to the DLQ after its receives; the worker carries on.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use timmybot_bus::{Delivery, IntentBus, RECEIVE_MAX, WAIT_MAX};
use timmybot_domain::ShardSpan;
use tokio::sync::{oneshot, watch};

use crate::player::Job;
use crate::players::Players;

/// How long a received intent stays invisible; extended while the player works.
pub const VISIBILITY: Duration = Duration::from_secs(60);
/// Extend well before the visibility runs out.
const EXTEND_EVERY: Duration = Duration::from_secs(20);
/// After a bus error, wait before polling again.
const BUS_BACKOFF: Duration = Duration::from_secs(2);

/// Counters for `/stats` and the idle check.
#[derive(Default)]
pub struct ConsumerStats {
    /// Intents received and not yet finished.
    pub in_flight: AtomicUsize,
    pub received: AtomicU64,
    pub malformed: AtomicU64,
    /// Intents for guilds on another worker's shards: a routing mistake, left for the DLQ.
    pub misrouted: AtomicU64,
    /// When the last intent arrived (clock ms).
    pub last_intent_ms: AtomicU64,
}

pub struct Consumer {
    pub bus: Arc<dyn IntentBus>,
    pub players: Arc<Players>,
    pub stats: Arc<ConsumerStats>,
    /// The shards this worker runs; it can only play in their guilds.
    pub shards: ShardSpan,
}

impl Consumer {
    /// Polls until `stop` turns true, then returns without taking more intents. Intents in
    /// flight finish (or become visible again) on their own.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let received = tokio::select! {
                r = self.bus.receive(RECEIVE_MAX, WAIT_MAX) => r,
                _ = stop.changed() => break,
            };
            match received {
                Ok(batch) => {
                    for delivery in batch {
                        self.dispatch(delivery).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "receiving intents failed");
                    tokio::time::sleep(BUS_BACKOFF).await;
                }
            }
        }
        tracing::info!("stopped taking intents");
    }

    async fn dispatch(&self, delivery: Delivery) {
        let now = self.players.deps().clock.now_ms();
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let metrics = self.players.deps().metrics.clone();
        if let Ok(intent) = &delivery.intent {
            if !self.shards.owns(intent.guild_id) {
                // Joining needs the guild's shard, which another worker runs. The endpoint
                // and this worker disagree on the shard plan; the DLQ alarm will say so.
                self.stats.misrouted.fetch_add(1, Ordering::Relaxed);
                metrics.intent_failed("misrouted");
                tracing::error!(
                    guild = %intent.guild_id,
                    shard = intent.guild_id.shard(self.shards.count()),
                    first = self.shards.first(),
                    last = self.shards.last(),
                    "an intent for another worker's shard, left for the dead-letter queue"
                );
                return;
            }
        }
        self.stats.last_intent_ms.store(now, Ordering::Relaxed);
        let intent = match delivery.intent {
            Ok(intent) => intent,
            Err(e) => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                metrics.intent_failed("malformed");
                tracing::warn!(
                    error = %e,
                    receives = delivery.receive_count,
                    "malformed intent left for the dead-letter queue"
                );
                return;
            }
        };
        let kind = intent.kind.name();
        metrics.intent(kind);
        let player = self.players.get(intent.guild_id).await;
        let (done_tx, done_rx) = oneshot::channel();
        let guild = intent.guild_id;
        let id = intent.id.clone();
        tracing::info!(%guild, intent = %id, kind = intent.kind.name(), "intent received");
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        // Queue it on the player now, in arrival order; the watcher below waits for it.
        if player
            .send(Job::Intent {
                intent: Box::new(intent),
                done: done_tx,
            })
            .await
            .is_err()
        {
            self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let bus = Arc::clone(&self.bus);
        let stats = Arc::clone(&self.stats);
        let receipt = delivery.receipt;
        tokio::spawn(async move {
            let mut done_rx = done_rx;
            let mut ticker = tokio::time::interval(EXTEND_EVERY);
            ticker.tick().await;
            let result = loop {
                tokio::select! {
                    r = &mut done_rx => break r.ok(),
                    _ = ticker.tick() => {
                        if let Err(e) = bus.extend(&receipt, VISIBILITY).await {
                            tracing::warn!(%guild, intent = %id, error = %e, "extending visibility failed");
                        }
                    }
                }
            };
            if let Some(Ok(())) = result {
                if let Err(e) = bus.ack(&receipt).await {
                    tracing::warn!(%guild, intent = %id, error = %e, "ack failed; a redelivery will change nothing");
                }
            } else {
                metrics.intent_failed(kind);
            }
            stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
