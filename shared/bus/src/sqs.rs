//! The AWS intent bus: an SQS FIFO queue. Group = guild id, dedup id = intent id.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sdk_sqs::Client;

use super::{clamp_request, BusError, Delivery, IntentBus, Receipt};
use timmybot_config::aws::AwsError;
use timmybot_domain::PlaybackIntent;

/// What a queue is: FIFO or not, and the ARN of its dead-letter queue if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueShape {
    pub fifo: bool,
    pub dead_letter: Option<String>,
}

pub struct SqsBus {
    client: Client,
    queue_url: String,
}

impl SqsBus {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// A client on `sdk` (from `timmybot_config::aws::load_config`).
    pub fn from_sdk(sdk: &timmybot_config::aws::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), queue_url)
    }

    /// The queue's kind and dead-letter queue, for `timmybot doctor`.
    pub async fn describe(&self) -> Result<QueueShape, BusError> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(sdk_err)?
            .attributes
            .unwrap_or_default();
        let fifo = attrs
            .get(&QueueAttributeName::FifoQueue)
            .is_some_and(|v| v == "true");
        // The redrive policy is JSON naming the DLQ's ARN.
        let dead_letter = attrs
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p.get("deadLetterTargetArn")?.as_str().map(str::to_owned));
        Ok(QueueShape { fifo, dead_letter })
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

fn sdk_err<E, R>(err: aws_sdk_sqs::error::SdkError<E, R>) -> BusError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some("ReceiptHandleIsInvalid") | Some("InvalidParameterValue")
            if err
                .as_service_error()
                .and_then(|e| e.message())
                .is_none_or(|m| m.to_ascii_lowercase().contains("receipt")) =>
        {
            BusError::StaleReceipt
        }
        _ => BusError::backend(AwsError::from_sdk(err)),
    }
}

#[async_trait]
impl IntentBus for SqsBus {
    async fn publish(&self, intent: &PlaybackIntent) -> Result<(), BusError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(intent.encode())
            .message_group_id(intent.guild_id.to_string())
            .message_deduplication_id(intent.id.as_str())
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let (max, wait) = clamp_request(max, wait);
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(1))
            .wait_time_seconds(secs(wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                // A message without a receipt cannot be acked or extended; SQS always sends one.
                let receipt = Receipt(m.receipt_handle?);
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let body = m.body.unwrap_or_default();
                Some(Delivery {
                    receipt,
                    receive_count,
                    intent: PlaybackIntent::decode(body.as_bytes()),
                })
            })
            .collect())
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), BusError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn extend(&self, receipt: &Receipt, visibility: Duration) -> Result<(), BusError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(secs(visibility))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
