//! The SQLite store's other record kinds: allowlist, settings, users, history, the track cache and the heartbeat.

use super::*;

#[async_trait]
impl AllowlistStore for SqliteStore {
    async fn allow(&self, entry: &AllowEntry) -> StoreResult<()> {
        let e = entry.clone();
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO allowlist (guild_id, approved_by, approved_at_ms, note)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guild_id) DO UPDATE SET approved_by = ?2, approved_at_ms = ?3, note = ?4",
                params![e.guild_id.to_string(), e.approved_by.to_string(), to_sql(e.approved_at_ms), e.note],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke(&self, guild: GuildId) -> StoreResult<bool> {
        self.with_conn(move |c| {
            Ok(c.execute(
                "DELETE FROM allowlist WHERE guild_id = ?1",
                [guild.to_string()],
            )? > 0)
        })
        .await
    }

    async fn is_allowed(&self, guild: GuildId) -> StoreResult<bool> {
        self.with_conn(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM allowlist WHERE guild_id = ?1)",
                [guild.to_string()],
                |r| r.get::<_, bool>(0),
            )?)
        })
        .await
    }

    async fn list_allowed(&self) -> StoreResult<Vec<AllowEntry>> {
        let mut entries = self
            .with_conn(|c| {
                let mut stmt =
                    c.prepare("SELECT guild_id, approved_by, approved_at_ms, note FROM allowlist")?;
                let rows = stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?;
                rows.map(|row| {
                    let (guild, by, at, note) = row?;
                    Ok(AllowEntry {
                        guild_id: GuildId::parse(&guild).map_err(|e| corrupt("allowlist", e))?,
                        approved_by: UserId::parse(&by).map_err(|e| corrupt("allowlist", e))?,
                        approved_at_ms: from_sql(at),
                        note,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()
            })
            .await?;
        // Ids are stored as text; order numerically.
        entries.sort_by_key(|e| e.guild_id);
        Ok(entries)
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn guild_settings(&self, guild: GuildId) -> StoreResult<GuildSettings> {
        self.with_conn(move |c| {
            let row = c
                .query_row(
                    "SELECT dj_role, idle_timeout_secs, announce_channel, stay, autoplay
                     FROM guild_settings WHERE guild_id = ?1",
                    [guild.to_string()],
                    |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, Option<i64>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, bool>(4)?,
                        ))
                    },
                )
                .optional()?;
            let Some((dj, idle, announce, stay, autoplay)) = row else {
                return Ok(GuildSettings::new(guild));
            };
            Ok(GuildSettings {
                guild_id: guild,
                dj_role: parse_opt("settings", dj, RoleId::parse)?,
                idle_timeout_secs: idle.and_then(|s| u32::try_from(s).ok()),
                announce_channel: parse_opt("settings", announce, ChannelId::parse)?,
                stay,
                autoplay,
            })
        })
        .await
    }

    async fn save_guild_settings(&self, settings: &GuildSettings) -> StoreResult<()> {
        let s = settings.clone();
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO guild_settings
                     (guild_id, dj_role, idle_timeout_secs, announce_channel, stay, autoplay)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.guild_id.to_string(),
                    s.dj_role.map(|r| r.to_string()),
                    s.idle_timeout_secs.map(i64::from),
                    s.announce_channel.map(|c| c.to_string()),
                    s.stay,
                    s.autoplay,
                ],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn load_user(&self, user: UserId) -> StoreResult<Versioned<UserProfile>> {
        let now = self.now();
        self.with_conn(move |c| {
            let id = user.to_string();
            let row = c
                .query_row(
                    "SELECT version, expires_at_ms, preferred_platform, pending_platform,
                            pending_sealed, pending_expires_ms, last_active_ms
                     FROM users WHERE user_id = ?1",
                    [&id],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<Vec<u8>>>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    },
                )
                .optional()?;
            let Some((version, expires, preferred, p_platform, p_sealed, p_expires, active)) = row
            else {
                return Ok(Versioned {
                    value: UserProfile::new(user),
                    version: 0,
                });
            };
            let version = from_sql(version);
            if expires <= now {
                return Ok(Versioned {
                    value: UserProfile::new(user),
                    version,
                });
            }
            let mut stmt =
                c.prepare("SELECT platform, sealed FROM linked_accounts WHERE user_id = ?1")?;
            let linked = stmt
                .query_map([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?
                .map(|row| {
                    let (platform, sealed) = row?;
                    let platform = Platform::parse(&platform).map_err(|e| corrupt("user", e))?;
                    Ok((platform, SealedBlob(sealed)))
                })
                .collect::<StoreResult<_>>()?;
            let pending_auth = match (p_platform, p_sealed, p_expires) {
                (Some(platform), Some(sealed), Some(expires_at_ms)) => Some(PendingAuth {
                    platform: Platform::parse(&platform).map_err(|e| corrupt("user", e))?,
                    sealed: SealedBlob(sealed),
                    expires_at_ms: from_sql(expires_at_ms),
                }),
                _ => None,
            };
            Ok(Versioned {
                value: UserProfile {
                    user_id: user,
                    preferred_platform: parse_opt("user", preferred, Platform::parse)?,
                    linked,
                    pending_auth,
                    last_active_ms: from_sql(active),
                },
                version,
            })
        })
        .await
    }

    async fn save_user(&self, profile: &UserProfile, expected: u64) -> StoreResult<u64> {
        let p = profile.clone();
        self.with_conn(move |c| {
            let tx = c.transaction()?;
            let id = p.user_id.to_string();
            let pending = p.pending_auth.as_ref();
            let version = conditional_write(
                &tx,
                "INSERT INTO users (user_id, preferred_platform, pending_platform, pending_sealed,
                     pending_expires_ms, last_active_ms, expires_at_ms, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (user_id) DO NOTHING",
                "UPDATE users SET preferred_platform = ?2, pending_platform = ?3,
                     pending_sealed = ?4, pending_expires_ms = ?5, last_active_ms = ?6,
                     expires_at_ms = ?7, version = ?8
                 WHERE user_id = ?1 AND version = ?9",
                params![
                    id,
                    p.preferred_platform.map(Platform::as_str),
                    pending.map(|a| a.platform.as_str()),
                    pending.map(|a| a.sealed.0.as_slice()),
                    pending.map(|a| to_sql(a.expires_at_ms)),
                    to_sql(p.last_active_ms),
                    to_sql(p.expires_at_ms()),
                ],
                expected,
            )?;
            tx.execute("DELETE FROM linked_accounts WHERE user_id = ?1", [&id])?;
            for (platform, sealed) in &p.linked {
                tx.execute(
                    "INSERT INTO linked_accounts (user_id, platform, sealed) VALUES (?1, ?2, ?3)",
                    params![id, platform.as_str(), sealed.0],
                )?;
            }
            tx.commit()?;
            Ok(version)
        })
        .await
    }
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn record_play(&self, entry: &HistoryEntry) -> StoreResult<()> {
        let e = entry.clone();
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO play_history (guild_id, played_at_ms, track_key,
                     requester, title, artist, source, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    e.guild_id.to_string(),
                    to_sql(e.played_at_ms),
                    e.track_key.to_string(),
                    e.requester.to_string(),
                    e.title,
                    e.artist,
                    e.source,
                    to_sql(e.expires_at_ms()),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_plays(&self, guild: GuildId, limit: usize) -> StoreResult<Vec<HistoryEntry>> {
        let now = self.now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |c| {
            let mut stmt = c.prepare(
                "SELECT played_at_ms, track_key, requester, title, artist, source
                 FROM play_history WHERE guild_id = ?1 AND expires_at_ms > ?2
                 ORDER BY played_at_ms DESC, track_key DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![guild.to_string(), now, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (at, key, requester, title, artist, source) = row?;
                Ok(HistoryEntry {
                    guild_id: guild,
                    played_at_ms: from_sql(at),
                    track_key: TrackKey::parse(&key).map_err(|e| corrupt("history", e))?,
                    requester: UserId::parse(&requester).map_err(|e| corrupt("history", e))?,
                    title,
                    artist,
                    source,
                })
            })
            .collect()
        })
        .await
    }
}

#[async_trait]
impl TrackCache for SqliteStore {
    async fn cached_track(&self, key: &TrackKey) -> StoreResult<Option<CachedTrack>> {
        let now = self.now();
        let key = key.clone();
        self.with_conn(move |c| {
            c.query_row(
                "SELECT title, artist, duration_ms, thumbnail, isrc, resolved_source, cached_at_ms
                 FROM track_cache WHERE track_key = ?1 AND expires_at_ms > ?2",
                params![key.to_string(), now],
                |r| {
                    Ok(CachedTrack {
                        key: key.clone(),
                        title: r.get(0)?,
                        artist: r.get(1)?,
                        duration_ms: r.get::<_, Option<i64>>(2)?.map(from_sql),
                        thumbnail: r.get(3)?,
                        isrc: r.get(4)?,
                        resolved_source: r.get(5)?,
                        cached_at_ms: from_sql(r.get(6)?),
                    })
                },
            )
            .optional()
            .map_err(StoreError::from)
        })
        .await
    }

    async fn cache_track(&self, track: &CachedTrack) -> StoreResult<()> {
        let t = track.clone();
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO track_cache (track_key, title, artist, duration_ms,
                     thumbnail, isrc, resolved_source, cached_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    t.key.to_string(),
                    t.title,
                    t.artist,
                    t.duration_ms.map(to_sql),
                    t.thumbnail,
                    t.isrc,
                    t.resolved_source,
                    to_sql(t.cached_at_ms),
                    to_sql(t.expires_at_ms()),
                ],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl HeartbeatStore for SqliteStore {
    async fn beat(&self, worker: WorkerIndex, heartbeat: &Heartbeat) -> StoreResult<()> {
        let h = heartbeat.clone();
        let guilds = json(&h.active_guilds)?;
        let identifies = json(&h.identifies)?;
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO worker_heartbeat
                     (worker, task_id, started_at_ms, last_beat_ms, active_guilds, identifies)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    worker.get(),
                    h.task_id,
                    to_sql(h.started_at_ms),
                    to_sql(h.last_beat_ms),
                    guilds,
                    identifies
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn last_beat(&self, worker: WorkerIndex) -> StoreResult<Option<Heartbeat>> {
        self.with_conn(move |c| {
            let row = c
                .query_row(
                    "SELECT task_id, started_at_ms, last_beat_ms, active_guilds, identifies
                     FROM worker_heartbeat WHERE worker = ?1",
                    [worker.get()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(task_id, started, last, guilds, identifies)| {
                Ok(Heartbeat {
                    task_id,
                    started_at_ms: from_sql(started),
                    last_beat_ms: from_sql(last),
                    active_guilds: unjson("heartbeat", &guilds)?,
                    identifies: unjson("heartbeat", &identifies)?,
                })
            })
            .transpose()
        })
        .await
    }
}

#[async_trait]
impl IdentifyGate for SqliteStore {
    async fn claim_identify(&self, bucket: u32, now_ms: u64, hold_ms: u64) -> StoreResult<Claim> {
        let (now, until) = (to_sql(now_ms), to_sql(now_ms.saturating_add(hold_ms)));
        self.with_conn(move |c| {
            // One statement: the lease is taken only where it is free, so two claims at once
            // cannot both win.
            let taken = c.execute(
                "INSERT INTO identify_lease (bucket, until_ms) VALUES (?1, ?2)
                 ON CONFLICT (bucket) DO UPDATE SET until_ms = ?2
                 WHERE identify_lease.until_ms <= ?3",
                params![bucket, until, now],
            )?;
            if taken == 1 {
                return Ok(Claim::Granted);
            }
            let held: i64 = c.query_row(
                "SELECT until_ms FROM identify_lease WHERE bucket = ?1",
                [bucket],
                |r| r.get(0),
            )?;
            Ok(Claim::HeldUntil(from_sql(held)))
        })
        .await
    }
}
