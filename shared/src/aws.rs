//! Turning AWS SDK errors into something a log line can carry.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

/// An AWS call failed; the text holds the whole error chain (codes, messages), never
/// credentials, which the SDK does not put into errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AwsError(String);

impl AwsError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        Self(DisplayErrorContext(err).to_string())
    }
}

/// The SDK configuration from the standard sources: environment (including
/// `AWS_ENDPOINT_URL`, which the tests point at the emulator), profile, and the task or
/// function role.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// One ECS service, scaled through UpdateService's desiredCount: the Lambda wakes the
/// worker with it and the worker scales itself to zero with it.
pub struct EcsService {
    client: aws_sdk_ecs::Client,
    cluster: String,
    service: String,
}

impl EcsService {
    pub fn new(client: aws_sdk_ecs::Client, cluster: String, service: String) -> Self {
        Self {
            client,
            cluster,
            service,
        }
    }

    pub async fn set_desired_count(&self, count: i32) -> Result<(), String> {
        self.client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .desired_count(count)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_ecs::error::DisplayErrorContext(e).to_string())
    }
}
