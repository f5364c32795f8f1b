//! The single table's other items: allowlist, settings, users, history, the track cache and the heartbeat.

use super::*;

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
        self.delete(guild_pk(guild), SK_ALLOW).await
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

fn worker_pk(worker: WorkerIndex) -> String {
    format!("{PK_WORKER}#{worker}")
}

#[async_trait]
impl HeartbeatStore for DynamoStore {
    async fn beat(&self, worker: WorkerIndex, heartbeat: &Heartbeat) -> StoreResult<()> {
        self.put(&HeartbeatItem {
            pk: worker_pk(worker),
            sk: SK_HEARTBEAT.to_owned(),
            beat: heartbeat.clone(),
        })
        .await
    }

    async fn last_beat(&self, worker: WorkerIndex) -> StoreResult<Option<Heartbeat>> {
        let item = self
            .get::<HeartbeatItem>(worker_pk(worker), SK_HEARTBEAT)
            .await?;
        if item.is_some() || worker != WorkerIndex::FIRST {
            return Ok(item.map(|i| i.beat));
        }
        // A one-worker table from before workers had indexes keeps its beat under `WORKER`:
        // the first task after the upgrade still resumes its guilds and keeps its identify log.
        let legacy = self
            .get::<HeartbeatItem>(PK_WORKER.to_owned(), SK_HEARTBEAT)
            .await?;
        Ok(legacy.map(|i| i.beat))
    }
}

/// One identify bucket's lease: who holds it and until when. It expires a day after.
#[derive(Serialize, Deserialize)]
struct LeaseItem {
    pk: String,
    sk: String,
    until_ms: u64,
    /// Unique to one claim, so an SDK retry of a landed claim knows it won.
    holder: String,
    ttl: u64,
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

#[async_trait]
impl IdentifyGate for DynamoStore {
    async fn claim_identify(&self, bucket: u32, now_ms: u64, hold_ms: u64) -> StoreResult<Claim> {
        let until_ms = now_ms.saturating_add(hold_ms);
        let holder = new_write_id();
        let item = encode(&LeaseItem {
            pk: format!("{PK_IDENTIFY}#{bucket}"),
            sk: SK_LEASE.to_owned(),
            until_ms,
            holder: holder.clone(),
            ttl: ttl_seconds(until_ms.saturating_add(DAY_MS)),
        })?;
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #until <= :now")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#until", "until_ms")
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(Claim::Granted),
            Err(err) => err,
        };
        let Some(PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error()
        else {
            return Err(put_err(err));
        };
        let stored = failed.item.as_ref();
        let field = |name: &str| stored.and_then(|i| i.get(name));
        if field("holder").and_then(|h| h.as_s().ok()) == Some(&holder) {
            return Ok(Claim::Granted);
        }
        let held = field("until_ms")
            .and_then(|u| u.as_n().ok())
            .and_then(|u| u.parse().ok())
            .unwrap_or(until_ms);
        Ok(Claim::HeldUntil(held))
    }
}
