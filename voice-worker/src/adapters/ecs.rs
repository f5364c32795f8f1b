//! [`Scaler`] on ECS UpdateService: the worker sets its own service's desiredCount.

use async_trait::async_trait;
use timmybot_shared::aws::EcsService;

use crate::ports::{ScaleError, Scaler};

pub struct EcsScaler(EcsService);

impl EcsScaler {
    pub fn new(client: aws_sdk_ecs::Client, cluster: String, service: String) -> Self {
        Self(EcsService::new(client, cluster, service))
    }
}

#[async_trait]
impl Scaler for EcsScaler {
    async fn set_desired(&self, count: i32) -> Result<(), ScaleError> {
        self.0.set_desired_count(count).await.map_err(ScaleError)
    }
}
