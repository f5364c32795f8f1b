//! How the interactions side reaches the voice worker.
//!
//! The intent bus port, [`IntentBus`], and its adapters:
//! - `local::LocalBus` (feature `local`): in-process, for the embedded `timmybot serve`.
//! - `sqs::SqsBus` (feature `aws`): SQS FIFO, for the AWS deployment.
//!
//! The worker's service port, [`WorkerService`]: the endpoint wakes a sleeping worker with it
//! and the worker scales itself to zero with it. Its adapter is `ecs::EcsService` (feature
//! `aws`).
//!
//! [`WorkerRoutes`]: with several workers, each has its own queue and service, and a guild's
//! intents go to the worker that holds its shard.
//!
//! Both buses keep SQS FIFO's contract, so the worker's consumer is written once:
//! - messages of one guild (the group) are delivered in order, one batch in flight at a time;
//! - a second intent with the same id inside the dedup window is dropped;
//! - a message not acked within its visibility timeout is delivered again.

#[cfg(feature = "aws")]
pub mod ecs;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "aws")]
pub mod sqs;

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use timmybot_domain::{GuildId, IntentError, PlaybackIntent, ShardPlan, WorkerIndex};

/// SQS returns at most 10 messages per receive.
pub const RECEIVE_MAX: usize = 10;
/// SQS long polls for at most 20 s.
pub const WAIT_MAX: Duration = Duration::from_secs(20);
/// SQS FIFO drops duplicates for 5 minutes.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the receipt is unknown or expired; the message will be delivered again")]
    StaleReceipt,
    #[error("the intent bus is unavailable: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl BusError {
    #[allow(dead_code)] // used by the adapters, which are features
    pub(crate) fn backend(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

/// Names one delivery of a message, for ack and extend.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Receipt(pub(crate) String);

/// One received message. A body that does not decode is still delivered, so the consumer
/// can log why and leave it for the dead-letter queue.
#[derive(Debug)]
pub struct Delivery {
    pub receipt: Receipt,
    /// 1 on first delivery.
    pub receive_count: u32,
    pub intent: Result<PlaybackIntent, IntentError>,
}

#[async_trait]
pub trait IntentBus: Send + Sync {
    /// Sends the intent in its guild's group, deduplicated by its id.
    async fn publish(&self, intent: &PlaybackIntent) -> Result<(), BusError>;
    /// Waits up to `wait` (at most [`WAIT_MAX`]) for up to `max` (1..=[`RECEIVE_MAX`]) messages.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;
    /// The message is handled; it will not be delivered again.
    async fn ack(&self, receipt: &Receipt) -> Result<(), BusError>;
    /// Keeps the message hidden for `visibility` from now, while work on it runs.
    async fn extend(&self, receipt: &Receipt, visibility: Duration) -> Result<(), BusError>;
}

#[allow(dead_code)] // used by the adapters, which are features
fn clamp_request(max: usize, wait: Duration) -> (usize, Duration) {
    (max.clamp(1, RECEIVE_MAX), wait.min(WAIT_MAX))
}

/// Why the worker's service could not be scaled.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("scaling the worker's service failed: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

/// The voice worker's service: how many tasks should run (0 or 1).
#[async_trait]
pub trait WorkerService: Send + Sync {
    async fn set_desired(&self, count: i32) -> Result<(), ServiceError>;
}

/// One worker, as the endpoint reaches it.
#[derive(Clone)]
pub struct WorkerRoute {
    pub bus: Arc<dyn IntentBus>,
    /// Its service, to wake it; `None` where nothing sleeps (the embedded bot).
    pub service: Option<Arc<dyn WorkerService>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the shard plan has {planned} workers, but {given} were given")]
pub struct RouteCountError {
    planned: u32,
    given: usize,
}

/// Every worker by index, and the shard plan that sends a guild to the one holding its shard.
#[derive(Clone)]
pub struct WorkerRoutes {
    plan: ShardPlan,
    workers: Vec<WorkerRoute>,
}

impl WorkerRoutes {
    /// One worker takes every guild.
    pub fn single(bus: Arc<dyn IntentBus>, service: Option<Arc<dyn WorkerService>>) -> Self {
        Self {
            plan: ShardPlan::SINGLE,
            workers: vec![WorkerRoute { bus, service }],
        }
    }

    /// `workers` in index order, one for each worker of `plan`.
    pub fn new(plan: ShardPlan, workers: Vec<WorkerRoute>) -> Result<Self, RouteCountError> {
        if workers.len() != plan.worker_count() as usize {
            return Err(RouteCountError {
                planned: plan.worker_count(),
                given: workers.len(),
            });
        }
        Ok(Self { plan, workers })
    }

    pub fn plan(&self) -> ShardPlan {
        self.plan
    }

    /// The worker that owns `guild`, and how to reach it.
    pub fn route(&self, guild: GuildId) -> (WorkerIndex, &WorkerRoute) {
        let index = self.plan.worker_of(guild);
        // `new` made one route per worker of the plan, and the plan answers only those.
        let route = self
            .workers
            .get(index.get() as usize)
            .unwrap_or(&self.workers[0]);
        (index, route)
    }
}
