//! Identify back-off. Discord resets a bot's token after 1,000 identifies in a day, and a
//! task that crashes on start would otherwise identify on every restart. Each identify is
//! logged, the log rides in the heartbeat item (so the next task knows what the last one
//! spent), and a budget well under the limit is never exceeded: past it, shards wait.

use std::sync::Mutex;
use std::time::Duration;

use timmybot_domain::Clock;
use tokio::sync::oneshot;
use twilight_gateway::queue::{InMemoryQueue, Queue};

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

/// twilight's identify queue (one identify per 5 s), behind the daily budget.
#[derive(Clone)]
pub struct BudgetQueue {
    log: std::sync::Arc<IdentifyLog>,
    clock: std::sync::Arc<dyn Clock>,
    inner: InMemoryQueue,
}

impl BudgetQueue {
    pub fn new(log: std::sync::Arc<IdentifyLog>, clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            log,
            clock,
            inner: InMemoryQueue::default(),
        }
    }
}

impl Queue for BudgetQueue {
    fn enqueue(&self, id: u32) -> oneshot::Receiver<()> {
        match self.log.try_spend(self.clock.now_ms()) {
            Ok(()) => self.inner.enqueue(id),
            Err(wait) => {
                tracing::error!(
                    shard = id,
                    wait_secs = wait.as_secs(),
                    budget = DAILY_BUDGET,
                    "identify budget spent for today; the shard waits"
                );
                let (tx, rx) = oneshot::channel::<()>();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    // Closing the channel makes the shard ask again, and be counted again.
                    drop(tx);
                });
                rx
            }
        }
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

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_holds_the_shard_back() {
        let clock = std::sync::Arc::new(timmybot_domain::ManualClock::new(DAY_MS));
        let log = std::sync::Arc::new(IdentifyLog::new(vec![DAY_MS - 1_000], 1));
        let queue = BudgetQueue::new(log.clone(), clock);
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
}
