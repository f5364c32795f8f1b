//! The AWS store: DESIGN.md's single table (`pk`, `sk`, TTL on `ttl`), items via serde_dynamo.
//!
//! DynamoDB's TTL is in epoch seconds and deletes expired items only eventually (up to days
//! later), so every read here also treats an item past its `ttl` as absent.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    AllowlistStore, Claim, GuildStore, HeartbeatStore, HistoryStore, IdentifyGate, SettingsStore,
    StoreError, StoreResult, TrackCache, UserStore,
};
use timmybot_config::aws::AwsError;
use timmybot_config::names::table::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION_ATTRIBUTE};
use timmybot_domain::records::ITEM_MAX_BYTES;
use timmybot_domain::Clock;
use timmybot_domain::{
    AllowEntry, CachedTrack, ChannelId, GuildId, GuildQueue, GuildSettings, GuildState, Heartbeat,
    HistoryEntry, LoopMode, MessageId, NowPlaying, PendingAuth, Platform, SealedBlob, Track,
    TrackKey, UserId, UserProfile, Versioned, Volume, WorkerIndex, WorkerMarks,
};

type Item = HashMap<String, AttributeValue>;

mod access;
mod items;
mod logins;
mod playlists;

const GUILD_PREFIX: &str = "GUILD#";
const SK_STATE: &str = "STATE";
const SK_ALLOW: &str = "ALLOW";
const SK_SETTINGS: &str = "SETTINGS";
const SK_PROFILE: &str = "PROFILE";
const SK_META: &str = "META";
/// `WORKER#<index>`; a bare `WORKER` is the one-worker item from before indexes.
const PK_WORKER: &str = "WORKER";
const SK_HEARTBEAT: &str = "HEARTBEAT";
/// `IDENTIFY#<bucket>` / `LEASE`: who may identify next in a rate-limit bucket.
const PK_IDENTIFY: &str = "IDENTIFY";
const SK_LEASE: &str = "LEASE";
/// The attribute naming the write that produced a versioned item.
const WRITE_ID: &str = "write_id";

fn guild_pk(guild: GuildId) -> String {
    format!("{GUILD_PREFIX}{guild}")
}

fn user_pk(user: UserId) -> String {
    format!("USER#{user}")
}

fn history_pk(guild: GuildId) -> String {
    format!("HIST#{guild}")
}

/// Zero-padded so that sort keys order by time.
fn history_sk(played_at_ms: u64, key: &TrackKey) -> String {
    format!("{played_at_ms:020}#{key}")
}

fn track_pk(key: &TrackKey) -> String {
    format!("TRACK#{}#{}", key.platform(), key.id())
}

/// DynamoDB TTL wants epoch seconds; round up so an item never dies early.
fn ttl_seconds(expires_at_ms: u64) -> u64 {
    expires_at_ms.div_ceil(1000)
}

/// What a table looks like: each key's (name, type), and the attribute TTL reads, if on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    pub partition_key: Option<(String, String)>,
    pub sort_key: Option<(String, String)>,
    pub ttl_attribute: Option<String>,
}

pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// A client on `sdk` (from `timmybot_config::aws::load_config`).
    pub fn from_sdk(
        sdk: &timmybot_config::aws::SdkConfig,
        table: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::new(Client::new(sdk), table, clock)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's key schema and TTL setting, for `timmybot doctor`.
    pub async fn describe(&self) -> StoreResult<TableShape> {
        use aws_sdk_dynamodb::types::{KeyType, TimeToLiveStatus};
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(aws_err)?
            .table
            .ok_or_else(|| StoreError::Corrupt("DescribeTable returned no table".into()))?;
        let types: HashMap<String, String> = table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect();
        let key = |kind: KeyType| {
            table
                .key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| {
                    let name = k.attribute_name().to_owned();
                    let ty = types.get(&name).cloned().unwrap_or_default();
                    (name, ty)
                })
        };
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(aws_err)?
            .time_to_live_description;
        let ttl_attribute = ttl.as_ref().and_then(|t| {
            let on = matches!(
                t.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            );
            on.then(|| t.attribute_name().map(str::to_owned)).flatten()
        });
        Ok(TableShape {
            partition_key: key(KeyType::Hash),
            sort_key: key(KeyType::Range),
            ttl_attribute,
        })
    }

    fn expired(&self, ttl: u64) -> bool {
        ttl.saturating_mul(1000) <= self.clock.now_ms()
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), AttributeValue::S(pk)),
            (SORT_KEY.to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    async fn get<T: DeserializeOwned>(&self, pk: String, sk: &str) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws_err)?;
        out.item.map(decode).transpose()
    }

    /// Deletes one item; what it held, if there was one.
    async fn take<T: DeserializeOwned>(&self, pk: String, sk: &str) -> StoreResult<Option<T>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(aws_err)?;
        out.attributes
            .filter(|a| !a.is_empty())
            .map(decode)
            .transpose()
    }

    /// Deletes one item; whether there was one.
    async fn delete(&self, pk: String, sk: &str) -> StoreResult<bool> {
        let old: Option<serde::de::IgnoredAny> = self.take(pk, sk).await?;
        Ok(old.is_some())
    }

    async fn put<T: Serialize>(&self, item: &T) -> StoreResult<()> {
        let item = encode(item)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(put_err)?;
        Ok(())
    }

    /// Puts `item` as version `expected + 1` only if the stored version is `expected`.
    ///
    /// `item` carries `write_id`, unique to this write. The SDK retries a put whose response
    /// was lost; that retry then fails its condition against our own landed write. The item
    /// returned with the failure tells the two cases apart, so the change is not applied twice.
    async fn put_versioned<T: Serialize>(
        &self,
        item: &T,
        expected: u64,
        write_id: &str,
    ) -> StoreResult<u64> {
        let item = encode(item)?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        req = if expected == 0 {
            req.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY)
        } else {
            req.condition_expression("#v = :expected")
                .expression_attribute_names("#v", VERSION_ATTRIBUTE)
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        match req.send().await {
            Ok(_) => Ok(expected + 1),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let landed = failed
                        .item
                        .as_ref()
                        .and_then(|stored| stored.get(WRITE_ID))
                        .and_then(|w| w.as_s().ok())
                        .is_some_and(|w| w == write_id);
                    if landed {
                        tracing::debug!(table = %self.table, "a retried put found its own write");
                        Ok(expected + 1)
                    } else {
                        Err(StoreError::Conflict)
                    }
                }
                _ => Err(put_err(err)),
            },
        }
    }
}

/// A fresh token for one versioned write.
fn new_write_id() -> String {
    ulid::Ulid::new().to_string()
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

fn decode<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn aws_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::backend(AwsError::from_sdk(err))
}

/// Maps the refusals a put can meet to typed errors.
fn put_err<R>(err: SdkError<PutItemError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let service = err.as_service_error();
    match service.and_then(|e| e.code()) {
        Some("ValidationException")
            if service
                .and_then(|e| e.message())
                .is_some_and(|m| m.to_ascii_lowercase().contains("item size")) =>
        {
            StoreError::ItemTooLarge {
                limit: ITEM_MAX_BYTES,
            }
        }
        _ => aws_err(err),
    }
}

#[derive(Serialize, Deserialize)]
struct StateItem {
    pk: String,
    sk: String,
    #[serde(default)]
    queue: Vec<Track>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    now_playing: Option<NowPlaying>,
    #[serde(rename = "loop", default)]
    loop_mode: LoopMode,
    #[serde(default)]
    volume: Volume,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    voice_channel_id: Option<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text_channel_id: Option<ChannelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    np_message_id: Option<MessageId>,
    #[serde(default)]
    marks: WorkerMarks,
    /// What `/previous` goes back to, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    played: Vec<Track>,
    version: u64,
    write_id: String,
    last_active: u64,
    ttl: u64,
}

#[async_trait]
impl GuildStore for DynamoStore {
    async fn load_guild(&self, guild: GuildId) -> StoreResult<Versioned<GuildState>> {
        let fresh = |version| Versioned {
            value: GuildState::new(guild),
            version,
        };
        let Some(item) = self.get::<StateItem>(guild_pk(guild), SK_STATE).await? else {
            return Ok(fresh(0));
        };
        if self.expired(item.ttl) {
            return Ok(fresh(item.version));
        }
        let queue =
            GuildQueue::from_parts(item.queue, item.now_playing, item.loop_mode, item.volume)?
                .with_played(item.played);
        Ok(Versioned {
            value: GuildState {
                guild_id: guild,
                queue,
                voice_channel_id: item.voice_channel_id,
                text_channel_id: item.text_channel_id,
                np_message_id: item.np_message_id,
                last_active_ms: item.last_active,
                marks: item.marks,
            },
            version: item.version,
        })
    }

    async fn save_guild(&self, state: &GuildState, expected: u64) -> StoreResult<u64> {
        let item = StateItem {
            pk: guild_pk(state.guild_id),
            sk: SK_STATE.to_owned(),
            queue: state.queue.upcoming().to_vec(),
            now_playing: state.queue.now_playing().cloned(),
            loop_mode: state.queue.loop_mode(),
            volume: state.queue.volume(),
            voice_channel_id: state.voice_channel_id,
            text_channel_id: state.text_channel_id,
            np_message_id: state.np_message_id,
            marks: state.marks.clone(),
            played: state.queue.played().to_vec(),
            version: expected + 1,
            write_id: new_write_id(),
            last_active: state.last_active_ms,
            ttl: ttl_seconds(state.expires_at_ms()),
        };
        self.put_versioned(&item, expected, &item.write_id).await
    }
}
