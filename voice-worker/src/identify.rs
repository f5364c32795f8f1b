//! Identify back-off. Discord resets a bot's token after 1,000 identifies in a day, and a
//! task that crashes on start would otherwise identify on every restart. Each identify is
//! logged, the log rides in the worker's heartbeat item (so the next task of the same index
//! knows what the last one spent), and a budget well under the limit is never exceeded: past
//! it, shards wait. With several workers, each has a share of the budget in proportion to its
//! shards, so the shares never add up to more.
//!
//! Discord also allows one identify per 5 s per rate-limit bucket (`shard % max_concurrency`),
//! counted over the whole bot. [`IdentifyQueue`] takes a lease on the bucket in the store
//! before each identify, so shards of different workers keep that spacing too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot_domain::{identify_bucket, Clock};
use timmybot_store::{Claim, SharedStore};
use tokio::sync::oneshot;
use twilight_gateway::queue::Queue;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Identifies allowed per rolling day: room below Discord's 1,000 for manual restarts.
pub const DAILY_BUDGET: usize = 900;

/// Identify times (epoch ms) within the last day.
#[derive(Debug, Default)]
pub struct IdentifyLog {
    times: Mutex<Vec<u64>>,
    budget: usize,
    /// Signalled on each identify, so the heartbeat records it before a crash can lose it.
    pub spent: tokio::sync::Notify,
}

impl IdentifyLog {
    /// Starts from what the previous task recorded.
    pub fn new(previous: Vec<u64>, budget: usize) -> Self {
        Self {
            times: Mutex::new(previous),
            budget,
            spent: tokio::sync::Notify::new(),
        }
    }

    /// How many identifies a day this worker may spend.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The identifies of the last day, oldest first.
    pub fn recent(&self, now_ms: u64) -> Vec<u64> {
        let mut t = self.times.lock().map(|t| t.clone()).unwrap_or_default();
        t.retain(|&at| now_ms.saturating_sub(at) < DAY_MS);
        t.sort_unstable();
        t
    }

    /// Records an identify at `now_ms` if the budget allows; otherwise says how long to wait
    /// until the oldest one leaves the window.
    pub fn try_spend(&self, now_ms: u64) -> Result<(), Duration> {
        let Ok(mut times) = self.times.lock() else {
            return Err(Duration::from_secs(60));
        };
        times.retain(|&at| now_ms.saturating_sub(at) < DAY_MS);
        if times.len() >= self.budget {
            let oldest = times.iter().copied().min().unwrap_or(now_ms);
            let wait = (oldest + DAY_MS).saturating_sub(now_ms).max(1_000);
            return Err(Duration::from_millis(wait));
        }
        times.push(now_ms);
        self.spent.notify_one();
        Ok(())
    }
}

/// Discord's identify spacing within one rate-limit bucket.
pub const IDENTIFY_SPACING: Duration = Duration::from_secs(5);
/// A lease outlasts the spacing by this much, for clocks that differ between tasks.
const LEASE_MARGIN: Duration = Duration::from_millis(250);
/// After the store fails a claim, wait this long before asking again.
const STORE_BACKOFF: Duration = Duration::from_secs(1);

/// How Discord limits this bot's identifies, from `GET /gateway/bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyLimits {
    /// Buckets that may identify side by side (`shard % max_concurrency`).
    pub max_concurrency: u16,
    /// When Discord's own daily count allows identifies again, if it is spent (epoch ms).
    pub not_before_ms: Option<u64>,
}

impl IdentifyLimits {
    /// What a bot with no special limits gets, for when Discord could not be asked.
    pub const DEFAULT: Self = Self {
        max_concurrency: 1,
        not_before_ms: None,
    };
}

struct QueueState {
    log: Arc<IdentifyLog>,
    clock: Arc<dyn Clock>,
    gate: SharedStore,
    limits: IdentifyLimits,
}

/// twilight's identify queue, for every shard of this worker: within the worker's share of
/// the daily budget, and one identify per rate-limit bucket per 5 s across all workers (a
/// lease in the store per bucket, so workers never need to talk to each other).
#[derive(Clone)]
pub struct IdentifyQueue(Arc<QueueState>);

impl IdentifyQueue {
    pub fn new(
        log: Arc<IdentifyLog>,
        clock: Arc<dyn Clock>,
        gate: SharedStore,
        limits: IdentifyLimits,
    ) -> Self {
        Self(Arc::new(QueueState {
            log,
            clock,
            gate,
            limits,
        }))
    }
}

impl QueueState {
    /// Lets shard `shard` identify once it may, by sending on `go`. Dropping `go` instead
    /// makes the shard ask again (twilight re-enqueues on a closed channel).
    async fn admit(&self, shard: u32, go: oneshot::Sender<()>) {
        if let Some(at) = self.limits.not_before_ms {
            let wait = at.saturating_sub(self.clock.now_ms());
            tracing::warn!(
                shard,
                wait_secs = wait / 1000,
                "Discord's identify count is spent for today; the shard waits"
            );
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        if let Err(wait) = self.log.try_spend(self.clock.now_ms()) {
            tracing::error!(
                shard,
                wait_secs = wait.as_secs(),
                budget = self.log.budget(),
                "this worker's identify budget is spent for today; the shard waits"
            );
            tokio::time::sleep(wait).await;
            // Asking again counts again.
            return;
        }
        let bucket = identify_bucket(shard, self.limits.max_concurrency);
        let hold = u64::try_from((IDENTIFY_SPACING + LEASE_MARGIN).as_millis()).unwrap_or(u64::MAX);
        loop {
            if go.is_closed() {
                return;
            }
            let now = self.clock.now_ms();
            match self.gate.claim_identify(bucket, now, hold).await {
                Ok(Claim::Granted) => break,
                Ok(Claim::HeldUntil(until)) => {
                    tracing::debug!(
                        shard,
                        bucket,
                        wait_ms = until.saturating_sub(now),
                        "identify bucket busy"
                    );
                    tokio::time::sleep(Duration::from_millis(until.saturating_sub(now).max(1)))
                        .await;
                }
                Err(e) => {
                    tracing::warn!(shard, bucket, error = %e, "claiming the identify bucket failed; retrying");
                    tokio::time::sleep(STORE_BACKOFF).await;
                }
            }
        }
        tracing::info!(shard, bucket, "identifying");
        let _ = go.send(());
    }
}

impl Queue for IdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        let (go, rx) = oneshot::channel();
        let state = self.0.clone();
        tokio::spawn(async move { state.admit(shard, go).await });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_across_a_crash_loop() {
        let t0 = 10 * DAY_MS;
        // The previous tasks spent all but one in the last day, one of them long ago.
        let mut previous: Vec<u64> = (0..4).map(|i| t0 - 1_000 * i).collect();
        previous.push(t0 - DAY_MS - 5);
        let log = IdentifyLog::new(previous, 5);
        assert_eq!(
            log.recent(t0).len(),
            4,
            "a day-old identify no longer counts"
        );
        assert!(log.try_spend(t0 + 1).is_ok());
        let wait = log.try_spend(t0 + 2).unwrap_err();
        // The oldest in the window is t0 - 3000: it leaves at t0 - 3000 + DAY.
        assert_eq!(wait, Duration::from_millis(DAY_MS - 3_002));
        assert!(
            log.try_spend(t0 - 3_000 + DAY_MS).is_ok(),
            "room again after a day"
        );
    }

    #[tokio::test]
    async fn an_identify_wakes_the_heartbeat() {
        let log = IdentifyLog::new(vec![], 2);
        log.try_spend(1).unwrap();
        tokio::time::timeout(Duration::from_millis(50), log.spent.notified())
            .await
            .expect("the heartbeat hears of the identify at once");
    }

    /// A store for the identify leases, and the clock every worker reads.
    struct Gate {
        store: SharedStore,
        clock: Arc<timmybot_domain::ManualClock>,
        _dir: tempfile::TempDir,
    }

    async fn gate() -> Gate {
        let clock = Arc::new(timmybot_domain::ManualClock::new(DAY_MS));
        let dir = tempfile::tempdir().unwrap();
        let store =
            timmybot_store::sqlite::SqliteStore::open(dir.path().join("t.db"), clock.clone())
                .await
                .unwrap();
        Gate {
            store: Arc::new(store),
            clock,
            _dir: dir,
        }
    }

    fn queue(log: Arc<IdentifyLog>, gate: &Gate, max_concurrency: u16) -> IdentifyQueue {
        IdentifyQueue::new(
            log,
            gate.clock.clone(),
            gate.store.clone(),
            IdentifyLimits {
                max_concurrency,
                not_before_ms: None,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_holds_the_shard_back() {
        let log = Arc::new(IdentifyLog::new(vec![DAY_MS - 1_000], 1));
        let gate = gate().await;
        let queue = queue(log.clone(), &gate, 1);
        let mut waiting = queue.enqueue(0);
        // A day minus a second must pass before the oldest identify leaves the window.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(waiting.try_recv().is_err(), "still held back");
        assert_eq!(
            log.recent(DAY_MS).len(),
            1,
            "the refused identify was not counted"
        );
        tokio::time::advance(Duration::from_millis(DAY_MS)).await;
        tokio::task::yield_now().await;
        assert!(
            matches!(
                waiting.try_recv(),
                Err(tokio::sync::oneshot::error::TryRecvError::Closed)
            ),
            "then the shard is told to ask again"
        );
    }

    #[tokio::test]
    async fn a_bucket_held_by_another_worker_waits_and_others_go_at_once() {
        let gate = gate().await;
        // Another worker identified shard 2 (bucket 0 of 2) just now, holding it 200 ms.
        assert_eq!(
            gate.store.claim_identify(0, DAY_MS, 200).await.unwrap(),
            Claim::Granted
        );
        let log = Arc::new(IdentifyLog::new(vec![], 10));
        let q = queue(log, &gate, 2);
        let mut shard_0 = q.enqueue(0);
        let shard_1 = q.enqueue(1);
        tokio::time::timeout(Duration::from_secs(2), shard_1)
            .await
            .expect("bucket 1 is free: at once")
            .expect("told to go");
        tokio::task::yield_now().await;
        assert!(
            shard_0.try_recv().is_err(),
            "bucket 0 waits for the other worker's lease"
        );
        // The lease runs out: shard 0 takes it and goes, and holds it 5.25 s in its turn.
        gate.clock.advance(200);
        tokio::time::timeout(Duration::from_secs(2), shard_0)
            .await
            .expect("bucket 0 goes once the lease is over")
            .expect("told to go");
        assert_eq!(
            gate.store
                .claim_identify(0, DAY_MS + 201, 200)
                .await
                .unwrap(),
            Claim::HeldUntil(DAY_MS + 200 + 5_250)
        );
    }
}
