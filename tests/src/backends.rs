//! Each adapter, freshly set up for one test: its own SQLite file, table or queue.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use timmybot_bus::local::LocalBus;
use timmybot_bus::sqs::SqsBus;
use timmybot_bus::IntentBus;
use timmybot_domain::ManualClock;
use timmybot_store::dynamo::DynamoStore;
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::Store;

use crate::aws;

/// A fixed start time for store tests: 2026-01-01T00:00:00Z.
pub const T0_MS: u64 = 1_767_225_600_000;

/// Direct access under the adapter, for checks the port cannot express (such as TTLs).
pub enum RawStore {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
}

pub struct StoreUnderTest {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub raw: RawStore,
}

pub async fn sqlite_store() -> StoreUnderTest {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("timmybot.db");
    let clock = Arc::new(ManualClock::new(T0_MS));
    let store = SqliteStore::open(&path, clock.clone())
        .await
        .expect("open SQLite store");
    StoreUnderTest {
        store: Arc::new(store),
        clock,
        raw: RawStore::Sqlite { path, _dir: dir },
    }
}

pub async fn dynamo_store() -> StoreUnderTest {
    let config = aws::shared().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("timmybot");
    aws::create_table(&client, &table).await;
    let clock = Arc::new(ManualClock::new(T0_MS));
    let store = DynamoStore::new(client.clone(), table.clone(), clock.clone());
    StoreUnderTest {
        store: Arc::new(store),
        clock,
        raw: RawStore::Dynamo { client, table },
    }
}

/// Sends a body as-is, as a foreign or broken producer might.
pub enum RawBus {
    Local(Arc<LocalBus>),
    Sqs {
        client: aws_sdk_sqs::Client,
        queue_url: String,
    },
}

impl RawBus {
    pub async fn send(&self, group: &str, dedup_id: &str, body: &str) {
        match self {
            RawBus::Local(bus) => {
                let group = group.parse().expect("group is a guild id");
                bus.publish_raw(group, dedup_id, body.to_owned());
            }
            RawBus::Sqs { client, queue_url } => {
                client
                    .send_message()
                    .queue_url(queue_url)
                    .message_group_id(group)
                    .message_deduplication_id(dedup_id)
                    .message_body(body)
                    .send()
                    .await
                    .expect("raw send");
            }
        }
    }
}

pub struct BusUnderTest {
    pub bus: Arc<dyn IntentBus>,
    pub raw: RawBus,
}

pub fn local_bus(visibility: Duration) -> BusUnderTest {
    let bus = Arc::new(LocalBus::new(visibility));
    BusUnderTest {
        bus: bus.clone(),
        raw: RawBus::Local(bus),
    }
}

pub async fn sqs_bus(visibility: Duration) -> BusUnderTest {
    let config = aws::shared().sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue_url = aws::create_fifo_queue(&client, &aws::unique("intents"), visibility).await;
    BusUnderTest {
        bus: Arc::new(SqsBus::new(client.clone(), queue_url.clone())),
        raw: RawBus::Sqs { client, queue_url },
    }
}
