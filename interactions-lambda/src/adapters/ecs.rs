//! Waking the voice worker: ECS UpdateService with desiredCount = 1. Idempotent: asking a
//! running service for one task again changes nothing.

use std::time::Duration;

use async_trait::async_trait;
use timmybot_shared::aws::EcsService;

use crate::core::ports::{WakeError, WorkerWaker};

/// The wake-up shares the 3 s reply budget with everything else.
pub const WAKE_TIMEOUT: Duration = Duration::from_millis(1500);

pub struct EcsWaker(EcsService);

impl EcsWaker {
    pub fn new(client: aws_sdk_ecs::Client, cluster: String, service: String) -> Self {
        Self(EcsService::new(client, cluster, service))
    }
}

#[async_trait]
impl WorkerWaker for EcsWaker {
    async fn wake(&self) -> Result<(), WakeError> {
        let call = self.0.set_desired_count(1);
        match tokio::time::timeout(WAKE_TIMEOUT, call).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WakeError(e)),
            Err(_) => Err(WakeError(format!("no answer within {WAKE_TIMEOUT:?}"))),
        }
    }
}
