//! [`WorkerService`] on ECS UpdateService's desiredCount: the endpoint wakes a worker with
//! it (1) and a worker scales itself to zero with it (0). Idempotent: asking a service for
//! the count it already has changes nothing. [`routes`] builds every worker's queue and
//! service from the settings, as the Lambda uses them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use timmybot_config::aws::AwsError;
use timmybot_config::{EcsServiceName, WorkerRouting};

use crate::sqs::SqsBus;
use crate::{RouteCountError, ServiceError, WorkerRoute, WorkerRoutes, WorkerService};

pub struct EcsService {
    client: aws_sdk_ecs::Client,
    cluster: String,
    service: String,
    timeout: Option<Duration>,
}

impl EcsService {
    pub fn new(client: aws_sdk_ecs::Client, cluster: String, service: String) -> Self {
        Self {
            client,
            cluster,
            service,
            timeout: None,
        }
    }

    /// The service `name`, through a client on `sdk` (from `timmybot_config::aws::load_config`).
    pub fn from_sdk(sdk: &timmybot_config::aws::SdkConfig, name: &EcsServiceName) -> Self {
        Self::new(
            aws_sdk_ecs::Client::new(sdk),
            name.cluster.clone(),
            name.service.clone(),
        )
    }

    /// Gives up after `timeout`: the endpoint's wake-up shares Discord's 3 s reply budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether the service exists (and is not being deleted), for `timmybot doctor`.
    pub async fn exists(&self) -> Result<bool, ServiceError> {
        let out = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(|e| ServiceError::Backend(Box::new(AwsError::from_sdk(e))))?;
        Ok(out.services().iter().any(|s| s.status() == Some("ACTIVE")))
    }

    async fn update(&self, count: i32) -> Result<(), ServiceError> {
        self.client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .desired_count(count)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::Backend(Box::new(AwsError::from_sdk(e))))
    }
}

#[async_trait]
impl WorkerService for EcsService {
    async fn set_desired(&self, count: i32) -> Result<(), ServiceError> {
        match self.timeout {
            None => self.update(count).await,
            Some(limit) => tokio::time::timeout(limit, self.update(count))
                .await
                .map_err(|_| ServiceError::Timeout(limit))?,
        }
    }
}

/// Every worker's SQS queue and ECS service, as `routing` names them, on one client of each
/// kind. A wake-up gives up after `wake_timeout`.
pub fn routes(
    sdk: &timmybot_config::aws::SdkConfig,
    routing: &WorkerRouting,
    wake_timeout: Option<Duration>,
) -> Result<WorkerRoutes, RouteCountError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let workers = routing
        .workers
        .iter()
        .map(|w| WorkerRoute {
            bus: Arc::new(SqsBus::new(sqs.clone(), w.queue_url.clone())),
            service: w.service.as_ref().map(|name| {
                let mut service =
                    EcsService::new(ecs.clone(), name.cluster.clone(), name.service.clone());
                service.timeout = wake_timeout;
                Arc::new(service) as Arc<dyn WorkerService>
            }),
        })
        .collect();
    WorkerRoutes::new(routing.plan, workers)
}
