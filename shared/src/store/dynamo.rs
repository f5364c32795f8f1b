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
    AllowlistStore, GuildStore, HeartbeatStore, HistoryStore, SettingsStore, StoreError,
    StoreResult, TrackCache, UserStore,
};
use crate::aws::AwsError;
use crate::clock::Clock;
use crate::domain::records::ITEM_MAX_BYTES;
use crate::domain::{
    AllowEntry, CachedTrack, ChannelId, GuildId, GuildQueue, GuildSettings, GuildState, Heartbeat,
    HistoryEntry, LoopMode, MessageId, NowPlaying, PendingAuth, Platform, SealedBlob, Track,
    TrackKey, UserId, UserProfile, Versioned, Volume, WorkerMarks,
};
use crate::names::table::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION_ATTRIBUTE};

type Item = HashMap<String, AttributeValue>;

const GUILD_PREFIX: &str = "GUILD#";
const SK_STATE: &str = "STATE";
const SK_ALLOW: &str = "ALLOW";
const SK_SETTINGS: &str = "SETTINGS";
const SK_PROFILE: &str = "PROFILE";
const SK_META: &str = "META";
const PK_WORKER: &str = "WORKER";
const SK_HEARTBEAT: &str = "HEARTBEAT";
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

    pub fn table(&self) -> &str {
        &self.table
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
            GuildQueue::from_parts(item.queue, item.now_playing, item.loop_mode, item.volume)?;
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
            version: expected + 1,
            write_id: new_write_id(),
            last_active: state.last_active_ms,
            ttl: ttl_seconds(state.expires_at_ms()),
        };
        self.put_versioned(&item, expected, &item.write_id).await
    }
}

/// No `ttl` field: an allowlist entry never expires.
#[derive(Serialize, Deserialize)]
struct AllowItem {
    pk: String,
    sk: String,
    approved_by: UserId,
    approved_at: u64,
    #[serde(default)]
    note: String,
}

impl AllowItem {
    fn into_entry(self) -> StoreResult<AllowEntry> {
        let guild = self
            .pk
            .strip_prefix(GUILD_PREFIX)
            .and_then(|id| GuildId::parse(id).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("allowlist key {:?}", self.pk)))?;
        Ok(AllowEntry {
            guild_id: guild,
            approved_by: self.approved_by,
            approved_at_ms: self.approved_at,
            note: self.note,
        })
    }
}

#[async_trait]
impl AllowlistStore for DynamoStore {
    async fn allow(&self, entry: &AllowEntry) -> StoreResult<()> {
        self.put(&AllowItem {
            pk: guild_pk(entry.guild_id),
            sk: SK_ALLOW.to_owned(),
            approved_by: entry.approved_by,
            approved_at: entry.approved_at_ms,
            note: entry.note.clone(),
        })
        .await
    }

    async fn revoke(&self, guild: GuildId) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(guild_pk(guild), SK_ALLOW)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(aws_err)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn is_allowed(&self, guild: GuildId) -> StoreResult<bool> {
        Ok(self
            .get::<AllowItem>(guild_pk(guild), SK_ALLOW)
            .await?
            .is_some())
    }

    /// A filtered scan: listing is a rare owner command, and DESIGN.md's table has no index
    /// keyed by item kind.
    async fn list_allowed(&self) -> StoreResult<Vec<AllowEntry>> {
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :allow")
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":allow", AttributeValue::S(SK_ALLOW.to_owned()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(aws_err)?;
        let mut entries = items
            .into_iter()
            .map(|item| decode::<AllowItem>(item)?.into_entry())
            .collect::<StoreResult<Vec<_>>>()?;
        entries.sort_by_key(|e| e.guild_id);
        Ok(entries)
    }
}

/// No `ttl` field: settings never expire.
#[derive(Serialize, Deserialize)]
struct SettingsItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    settings: GuildSettings,
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn guild_settings(&self, guild: GuildId) -> StoreResult<GuildSettings> {
        let item = self
            .get::<SettingsItem>(guild_pk(guild), SK_SETTINGS)
            .await?;
        Ok(item.map_or_else(|| GuildSettings::new(guild), |i| i.settings))
    }

    async fn save_guild_settings(&self, settings: &GuildSettings) -> StoreResult<()> {
        self.put(&SettingsItem {
            pk: guild_pk(settings.guild_id),
            sk: SK_SETTINGS.to_owned(),
            settings: settings.clone(),
        })
        .await
    }
}

#[derive(Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preferred_platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    linked: std::collections::BTreeMap<Platform, SealedBlob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_auth: Option<PendingAuth>,
    last_active: u64,
    version: u64,
    write_id: String,
    ttl: u64,
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn load_user(&self, user: UserId) -> StoreResult<Versioned<UserProfile>> {
        let fresh = |version| Versioned {
            value: UserProfile::new(user),
            version,
        };
        let Some(item) = self.get::<UserItem>(user_pk(user), SK_PROFILE).await? else {
            return Ok(fresh(0));
        };
        if self.expired(item.ttl) {
            return Ok(fresh(item.version));
        }
        Ok(Versioned {
            value: UserProfile {
                user_id: user,
                preferred_platform: item.preferred_platform,
                linked: item.linked,
                pending_auth: item.pending_auth,
                last_active_ms: item.last_active,
            },
            version: item.version,
        })
    }

    async fn save_user(&self, profile: &UserProfile, expected: u64) -> StoreResult<u64> {
        let item = UserItem {
            pk: user_pk(profile.user_id),
            sk: SK_PROFILE.to_owned(),
            preferred_platform: profile.preferred_platform,
            linked: profile.linked.clone(),
            pending_auth: profile.pending_auth.clone(),
            last_active: profile.last_active_ms,
            version: expected + 1,
            write_id: new_write_id(),
            ttl: ttl_seconds(profile.expires_at_ms()),
        };
        self.put_versioned(&item, expected, &item.write_id).await
    }
}

#[derive(Serialize, Deserialize)]
struct HistoryItem {
    pk: String,
    sk: String,
    played_at: u64,
    track_key: TrackKey,
    requester: UserId,
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artist: Option<String>,
    platform: Platform,
    source: String,
    ttl: u64,
}

#[async_trait]
impl HistoryStore for DynamoStore {
    async fn record_play(&self, entry: &HistoryEntry) -> StoreResult<()> {
        self.put(&HistoryItem {
            pk: history_pk(entry.guild_id),
            sk: history_sk(entry.played_at_ms, &entry.track_key),
            played_at: entry.played_at_ms,
            track_key: entry.track_key.clone(),
            requester: entry.requester,
            title: entry.title.clone(),
            artist: entry.artist.clone(),
            platform: entry.track_key.platform(),
            source: entry.source.clone(),
            ttl: ttl_seconds(entry.expires_at_ms()),
        })
        .await
    }

    async fn recent_plays(&self, guild: GuildId, limit: usize) -> StoreResult<Vec<HistoryEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let page = i32::try_from(limit).unwrap_or(i32::MAX);
        let now_s = self.clock.now_ms() / 1000;
        // The filter runs after each page is read, so keep paging until `limit` survive it.
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .filter_expression("#ttl > :now")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":pk", AttributeValue::S(history_pk(guild)))
            .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
            .scan_index_forward(false)
            .limit(page)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::with_capacity(limit.min(1000));
        while out.len() < limit {
            let Some(item) = items.next().await else {
                break;
            };
            let h: HistoryItem = decode(item.map_err(aws_err)?)?;
            if self.expired(h.ttl) {
                continue;
            }
            out.push(HistoryEntry {
                guild_id: guild,
                played_at_ms: h.played_at,
                track_key: h.track_key,
                requester: h.requester,
                title: h.title,
                artist: h.artist,
                source: h.source,
            });
        }
        Ok(out)
    }
}

#[derive(Serialize, Deserialize)]
struct TrackItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    track: CachedTrack,
    ttl: u64,
}

#[async_trait]
impl TrackCache for DynamoStore {
    async fn cached_track(&self, key: &TrackKey) -> StoreResult<Option<CachedTrack>> {
        let item = self.get::<TrackItem>(track_pk(key), SK_META).await?;
        Ok(item.filter(|i| !self.expired(i.ttl)).map(|i| i.track))
    }

    async fn cache_track(&self, track: &CachedTrack) -> StoreResult<()> {
        self.put(&TrackItem {
            pk: track_pk(&track.key),
            sk: SK_META.to_owned(),
            track: track.clone(),
            ttl: ttl_seconds(track.expires_at_ms()),
        })
        .await
    }
}

#[derive(Serialize, Deserialize)]
struct HeartbeatItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    beat: Heartbeat,
}

#[async_trait]
impl HeartbeatStore for DynamoStore {
    async fn beat(&self, heartbeat: &Heartbeat) -> StoreResult<()> {
        self.put(&HeartbeatItem {
            pk: PK_WORKER.to_owned(),
            sk: SK_HEARTBEAT.to_owned(),
            beat: heartbeat.clone(),
        })
        .await
    }

    async fn last_beat(&self) -> StoreResult<Option<Heartbeat>> {
        let item = self
            .get::<HeartbeatItem>(PK_WORKER.to_owned(), SK_HEARTBEAT)
            .await?;
        Ok(item.map(|i| i.beat))
    }
}
