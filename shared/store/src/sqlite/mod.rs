//! The embedded store: one SQLite file, a table per record kind.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool behind one connection.
//! One writer is all SQLite allows anyway, and the embedded bot serves a handful of guilds.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    AllowlistStore, Claim, GuildStore, HeartbeatStore, HistoryStore, IdentifyGate, SettingsStore,
    StoreError, StoreResult, TrackCache, UserStore,
};
use timmybot_domain::records::ITEM_MAX_BYTES;
use timmybot_domain::Clock;
use timmybot_domain::{
    AllowEntry, CachedTrack, ChannelId, GuildId, GuildQueue, GuildSettings, GuildState, Heartbeat,
    HistoryEntry, LoopMode, MessageId, PendingAuth, Platform, RoleId, SealedBlob, TrackKey, UserId,
    UserProfile, Versioned, Volume, WorkerIndex,
};

mod access;
mod logins;
mod playlists;
mod records;

const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS allowlist (
    guild_id        TEXT PRIMARY KEY,
    approved_by     TEXT NOT NULL,
    approved_at_ms  INTEGER NOT NULL,
    note            TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id           TEXT PRIMARY KEY,
    dj_role            TEXT,
    idle_timeout_secs  INTEGER,
    announce_channel   TEXT,
    stay               INTEGER NOT NULL DEFAULT 0,
    autoplay           INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS guild_state (
    guild_id          TEXT PRIMARY KEY,
    version           INTEGER NOT NULL,
    upcoming          TEXT NOT NULL,
    now_playing       TEXT,
    loop_mode         TEXT NOT NULL,
    volume            INTEGER NOT NULL,
    voice_channel_id  TEXT,
    text_channel_id   TEXT,
    np_message_id     TEXT,
    marks             TEXT NOT NULL DEFAULT '{}',
    played            TEXT NOT NULL DEFAULT '[]',
    last_active_ms    INTEGER NOT NULL,
    expires_at_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    user_id             TEXT PRIMARY KEY,
    version             INTEGER NOT NULL,
    preferred_platform  TEXT,
    pending_platform    TEXT,
    pending_sealed      BLOB,
    pending_expires_ms  INTEGER,
    last_active_ms      INTEGER NOT NULL,
    expires_at_ms       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS linked_accounts (
    user_id   TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    platform  TEXT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (user_id, platform)
);
CREATE TABLE IF NOT EXISTS play_history (
    guild_id       TEXT NOT NULL,
    played_at_ms   INTEGER NOT NULL,
    track_key      TEXT NOT NULL,
    requester      TEXT NOT NULL,
    title          TEXT NOT NULL,
    artist         TEXT,
    source         TEXT NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, played_at_ms, track_key)
);
CREATE TABLE IF NOT EXISTS track_cache (
    track_key        TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    artist           TEXT,
    duration_ms      INTEGER,
    thumbnail        TEXT,
    isrc             TEXT,
    resolved_source  TEXT NOT NULL,
    cached_at_ms     INTEGER NOT NULL,
    expires_at_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS access_requests (
    guild_id         TEXT PRIMARY KEY,
    body             TEXT NOT NULL,
    requested_at_ms  INTEGER NOT NULL,
    expires_at_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    scope          TEXT NOT NULL,
    at_ms          INTEGER NOT NULL,
    id             TEXT NOT NULL,
    body           TEXT NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (scope, at_ms, id)
);
CREATE TABLE IF NOT EXISTS worker_heartbeat (
    worker         INTEGER PRIMARY KEY,
    task_id        TEXT NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    last_beat_ms   INTEGER NOT NULL,
    active_guilds  TEXT NOT NULL,
    identifies     TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS identify_lease (
    bucket    INTEGER PRIMARY KEY,
    until_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS saved_playlists (
    guild_id  TEXT NOT NULL,
    name_key  TEXT NOT NULL,
    summary   TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (guild_id, name_key)
);
CREATE TABLE IF NOT EXISTS web_logins (
    state_hash     TEXT PRIMARY KEY,
    expires_at_ms  INTEGER NOT NULL
);
";

/// Schema 1 kept one heartbeat row (id 1); from schema 2 there is one per worker, and that
/// row becomes worker 0's.
const MIGRATE_1_TO_2: &str = "
INSERT OR IGNORE INTO worker_heartbeat
    (worker, task_id, started_at_ms, last_beat_ms, active_guilds, identifies)
    SELECT 0, task_id, started_at_ms, last_beat_ms, active_guilds, identifies FROM heartbeat;
DROP TABLE heartbeat;
";

/// Tables whose rows carry `expires_at_ms`. The allowlist is deliberately not among them.
const EXPIRING_TABLES: [&str; 7] = [
    "guild_state",
    "users",
    "play_history",
    "track_cache",
    "access_requests",
    "audit_log",
    "web_logins",
];

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` and drops rows that have expired.
    pub async fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let path = path.as_ref().to_owned();
        let conn = tokio::task::spawn_blocking(move || Connection::open(path))
            .await
            .map_err(StoreError::backend)?
            .map_err(StoreError::backend)?;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            clock,
        };
        store.with_conn(migrate).await?;
        store.purge_expired().await?;
        Ok(store)
    }

    /// Deletes expired rows; reads already treat them as absent.
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        let now = to_sql(self.clock.now_ms());
        self.with_conn(move |c| {
            let mut removed = 0;
            for table in EXPIRING_TABLES {
                removed += c.execute(
                    &format!("DELETE FROM {table} WHERE expires_at_ms <= ?1"),
                    [now],
                )?;
            }
            Ok(removed)
        })
        .await
    }

    fn now(&self) -> i64 {
        to_sql(self.clock.now_ms())
    }

    async fn with_conn<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-written row: every write
            // is one statement or one transaction, so the poisoned connection is still sound.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

fn migrate(c: &mut Connection) -> StoreResult<()> {
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    let current: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database was written by a newer TimmyBot (schema {current}, this build knows {SCHEMA_VERSION})"
        )));
    }
    let tx = c.transaction()?;
    tx.execute_batch(SCHEMA)?;
    let old_heartbeat: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'heartbeat')",
        [],
        |r| r.get(0),
    )?;
    if old_heartbeat {
        tx.execute_batch(MIGRATE_1_TO_2)?;
    }
    // Schema 3 keeps the tracks `/previous` goes back to and the 24/7 and autoplay
    // settings (and adds saved playlists, above).
    for (table, column, definition) in [
        ("guild_state", "played", "TEXT NOT NULL DEFAULT '[]'"),
        ("guild_settings", "stay", "INTEGER NOT NULL DEFAULT 0"),
        ("guild_settings", "autoplay", "INTEGER NOT NULL DEFAULT 0"),
    ] {
        let has: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, column],
            |r| r.get(0),
        )?;
        if !has {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition};"
            ))?;
        }
    }
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()?;
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::backend(e)
    }
}

/// Times and versions are u64 in the domain and i64 in SQLite; both stay far below 2^63.
fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {err}"))
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| corrupt("encode", e))
}

fn unjson<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

fn parse_opt<T, E: std::fmt::Display>(
    what: &str,
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> StoreResult<Option<T>> {
    raw.map(|s| parse(&s).map_err(|e| corrupt(what, e)))
        .transpose()
}

/// Conditional write shared by guild state and users: insert at version 1 only if absent,
/// otherwise update only if the stored version is `expected`.
fn conditional_write(
    c: &Connection,
    insert: &str,
    update: &str,
    args: &[&dyn rusqlite::ToSql],
    expected: u64,
) -> StoreResult<u64> {
    let next = expected + 1;
    let next_sql = to_sql(next);
    let expected_sql = to_sql(expected);
    let mut all: Vec<&dyn rusqlite::ToSql> = args.to_vec();
    all.push(&next_sql);
    let changed = if expected == 0 {
        c.execute(insert, all.as_slice())?
    } else {
        all.push(&expected_sql);
        c.execute(update, all.as_slice())?
    };
    if changed == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(next)
}

#[async_trait]
impl GuildStore for SqliteStore {
    async fn load_guild(&self, guild: GuildId) -> StoreResult<Versioned<GuildState>> {
        let now = self.now();
        self.with_conn(move |c| {
            let row = c
                .query_row(
                    "SELECT version, expires_at_ms, upcoming, now_playing, loop_mode, volume,
                            voice_channel_id, text_channel_id, np_message_id, last_active_ms, marks,
                            played
                     FROM guild_state WHERE guild_id = ?1",
                    [guild.to_string()],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<String>>(7)?,
                            r.get::<_, Option<String>>(8)?,
                            r.get::<_, i64>(9)?,
                            r.get::<_, String>(10)?,
                            r.get::<_, String>(11)?,
                        ))
                    },
                )
                .optional()?;
            let Some((
                version,
                expires,
                upcoming,
                np,
                loop_mode,
                volume,
                voice,
                text,
                msg,
                active,
                marks,
                played,
            )) = row
            else {
                return Ok(Versioned {
                    value: GuildState::new(guild),
                    version: 0,
                });
            };
            let version = from_sql(version);
            if expires <= now {
                return Ok(Versioned {
                    value: GuildState::new(guild),
                    version,
                });
            }
            let queue = GuildQueue::from_parts(
                unjson("queue", &upcoming)?,
                np.as_deref()
                    .map(|s| unjson("now_playing", s))
                    .transpose()?,
                LoopMode::parse(&loop_mode).ok_or_else(|| corrupt("loop mode", &loop_mode))?,
                Volume::parse(u32::try_from(volume).unwrap_or(u32::MAX))?,
            )?
            .with_played(unjson("played", &played)?);
            Ok(Versioned {
                value: GuildState {
                    guild_id: guild,
                    queue,
                    voice_channel_id: parse_opt("voice channel", voice, ChannelId::parse)?,
                    text_channel_id: parse_opt("text channel", text, ChannelId::parse)?,
                    np_message_id: parse_opt("message", msg, MessageId::parse)?,
                    last_active_ms: from_sql(active),
                    marks: unjson("marks", &marks)?,
                },
                version,
            })
        })
        .await
    }

    async fn save_guild(&self, state: &GuildState, expected: u64) -> StoreResult<u64> {
        let upcoming = json(&state.queue.upcoming())?;
        let np = state.queue.now_playing().map(json).transpose()?;
        let played = json(&state.queue.played())?;
        let size = upcoming.len() + np.as_ref().map_or(0, String::len) + played.len();
        if size > ITEM_MAX_BYTES {
            return Err(StoreError::ItemTooLarge {
                limit: ITEM_MAX_BYTES,
            });
        }
        let guild = state.guild_id.to_string();
        let loop_mode = state.queue.loop_mode().as_str();
        let volume = i64::from(state.queue.volume().percent());
        let voice = state.voice_channel_id.map(|c| c.to_string());
        let text = state.text_channel_id.map(|c| c.to_string());
        let msg = state.np_message_id.map(|m| m.to_string());
        let marks = json(&state.marks)?;
        let active = to_sql(state.last_active_ms);
        let expires = to_sql(state.expires_at_ms());
        self.with_conn(move |c| {
            conditional_write(
                c,
                "INSERT INTO guild_state (guild_id, upcoming, now_playing, loop_mode, volume,
                     voice_channel_id, text_channel_id, np_message_id, last_active_ms,
                     expires_at_ms, marks, played, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (guild_id) DO NOTHING",
                "UPDATE guild_state SET upcoming = ?2, now_playing = ?3, loop_mode = ?4,
                     volume = ?5, voice_channel_id = ?6, text_channel_id = ?7,
                     np_message_id = ?8, last_active_ms = ?9, expires_at_ms = ?10, marks = ?11,
                     played = ?12, version = ?13
                 WHERE guild_id = ?1 AND version = ?14",
                params![
                    guild, upcoming, np, loop_mode, volume, voice, text, msg, active, expires,
                    marks, played
                ],
                expected,
            )
        })
        .await
    }
}
