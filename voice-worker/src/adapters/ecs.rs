//! [`Scaler`] on ECS UpdateService: the worker sets its own service's desiredCount.

use async_trait::async_trait;

use crate::ports::{ScaleError, Scaler};

pub struct EcsScaler {
    client: aws_sdk_ecs::Client,
    cluster: String,
    service: String,
}

impl EcsScaler {
    pub fn new(client: aws_sdk_ecs::Client, cluster: String, service: String) -> Self {
        Self {
            client,
            cluster,
            service,
        }
    }
}

#[async_trait]
impl Scaler for EcsScaler {
    async fn set_desired(&self, count: i32) -> Result<(), ScaleError> {
        timmybot_shared::aws::set_desired_count(&self.client, &self.cluster, &self.service, count)
            .await
            .map_err(ScaleError)
    }
}
