//! Store ports: what the bot keeps, behind traits, with two adapters.
//!
//! - `sqlite::SqliteStore` (feature `sqlite`): one file, for the embedded `timmybot serve`.
//! - `dynamo::DynamoStore` (feature `dynamodb`): DESIGN.md's single table, for AWS.
//! - [`open`]: the adapter a [`StoreConfig`] names.
//!
//! Writes of guild state and user profiles are conditional on the version read; a lost race
//! surfaces as [`StoreError::Conflict`] and [`update_guild`] / [`update_user`] retry it with a
//! fresh read. Expired records read as absent on both backends, because DynamoDB deletes
//! expired items only eventually.

#[cfg(feature = "dynamodb")]
pub mod dynamo;
mod open;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use open::{open, OpenError};
pub use timmybot_config::StoreConfig;

use std::error::Error as StdError;
use std::sync::Arc;

use async_trait::async_trait;

use timmybot_domain::Clock;
use timmybot_domain::{
    AccessRequest, AllowEntry, AuditEntry, AuditScope, CachedTrack, GuildId, GuildSettings,
    GuildState, Heartbeat, HistoryEntry, PlaylistName, PlaylistSummary, QueueError, SavedPlaylist,
    TrackKey, UserId, UserProfile, Versioned, WorkerIndex,
};
use timmybot_domain::{Backoff, RetryPolicy};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stored version moved since it was read. Retried by the update helpers.
    #[error("the record changed since it was read")]
    Conflict,
    #[error("the record kept changing under us ({attempts} tries); please try again")]
    Contended { attempts: u32 },
    #[error("the record is too large to store (the limit is {limit} bytes); remove some tracks")]
    ItemTooLarge { limit: usize },
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
    #[error("the store is unavailable: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    #[allow(dead_code)] // used by the adapters, which are features
    pub(crate) fn backend(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait GuildStore: Send + Sync {
    /// The guild's state; a fresh state (at the stored version, or 0) if none or expired.
    async fn load_guild(&self, guild: GuildId) -> StoreResult<Versioned<GuildState>>;
    /// Writes `state` as version `expected + 1` if the stored version is still `expected`.
    async fn save_guild(&self, state: &GuildState, expected: u64) -> StoreResult<u64>;
}

#[async_trait]
pub trait AllowlistStore: Send + Sync {
    async fn allow(&self, entry: &AllowEntry) -> StoreResult<()>;
    /// Returns whether the guild was on the list.
    async fn revoke(&self, guild: GuildId) -> StoreResult<bool>;
    async fn is_allowed(&self, guild: GuildId) -> StoreResult<bool>;
    /// Every entry, ordered by guild id.
    async fn list_allowed(&self) -> StoreResult<Vec<AllowEntry>>;
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The guild's settings; defaults if none were saved.
    async fn guild_settings(&self, guild: GuildId) -> StoreResult<GuildSettings>;
    /// Replaces the guild's settings. Last writer wins: only managers change them, rarely.
    async fn save_guild_settings(&self, settings: &GuildSettings) -> StoreResult<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user's profile; a fresh one (at the stored version, or 0) if none or expired.
    async fn load_user(&self, user: UserId) -> StoreResult<Versioned<UserProfile>>;
    /// Writes `profile` as version `expected + 1` if the stored version is still `expected`.
    async fn save_user(&self, profile: &UserProfile, expected: u64) -> StoreResult<u64>;
}

#[async_trait]
pub trait HistoryStore: Send + Sync {
    async fn record_play(&self, entry: &HistoryEntry) -> StoreResult<()>;
    /// Up to `limit` unexpired plays, newest first.
    async fn recent_plays(&self, guild: GuildId, limit: usize) -> StoreResult<Vec<HistoryEntry>>;
}

#[async_trait]
pub trait TrackCache: Send + Sync {
    async fn cached_track(&self, key: &TrackKey) -> StoreResult<Option<CachedTrack>>;
    async fn cache_track(&self, track: &CachedTrack) -> StoreResult<()>;
}

/// Each worker's heartbeat: one item per worker index, overwritten on each beat.
#[async_trait]
pub trait HeartbeatStore: Send + Sync {
    async fn beat(&self, worker: WorkerIndex, heartbeat: &Heartbeat) -> StoreResult<()>;
    async fn last_beat(&self, worker: WorkerIndex) -> StoreResult<Option<Heartbeat>>;
}

/// The answer to a claim on an identify bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The bucket is this caller's until `now + hold`: it may identify now.
    Granted,
    /// Someone else identified in this bucket; it frees at this time (epoch ms).
    HeldUntil(u64),
}

/// Discord lets the shards of one rate-limit bucket (`shard % max_concurrency`) identify
/// once per 5 s, counted across every process of the bot. A lease per bucket, taken with a
/// conditional write, keeps the workers' identifies apart without any of them talking.
#[async_trait]
pub trait IdentifyGate: Send + Sync {
    /// Takes `bucket` until `now_ms + hold_ms` if it is free at `now_ms`.
    async fn claim_identify(&self, bucket: u32, now_ms: u64, hold_ms: u64) -> StoreResult<Claim>;
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Writes the request unless one for the guild is pending: an unlisted guild can cause
    /// one write a week and no more. Returns whether it was written.
    async fn request_access(&self, request: &AccessRequest) -> StoreResult<bool>;
    /// The guild's pending request, if any.
    async fn access_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>>;
    /// Every pending request, oldest first.
    async fn pending_requests(&self) -> StoreResult<Vec<AccessRequest>>;
    /// Removes the guild's request (it was decided); returns what it was.
    async fn close_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `limit` unexpired entries of `scope`, newest first.
    async fn audit_log(&self, scope: AuditScope, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}

/// A guild's saved playlists. They never expire; the command core keeps the count and size
/// limits ([`timmybot_domain::playlist`]).
#[async_trait]
pub trait PlaylistStore: Send + Sync {
    /// Saves `playlist`, replacing one of the same name (by key).
    async fn save_playlist(&self, playlist: &SavedPlaylist) -> StoreResult<()>;
    async fn playlist(
        &self,
        guild: GuildId,
        name: &PlaylistName,
    ) -> StoreResult<Option<SavedPlaylist>>;
    /// Every playlist of `guild`, without its tracks, by name.
    async fn playlists(&self, guild: GuildId) -> StoreResult<Vec<PlaylistSummary>>;
    /// Whether there was one to delete.
    async fn delete_playlist(&self, guild: GuildId, name: &PlaylistName) -> StoreResult<bool>;
}

/// The dashboard's logins in flight. The `state` Discord hands back works once: it is kept
/// by its SHA-256 only, and taking it deletes it.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Remembers a login by `state_hash` until `expires_at_ms`.
    async fn begin_login(&self, state_hash: &str, expires_at_ms: u64) -> StoreResult<()>;
    /// Takes the login: `true` once for an unexpired one, `false` ever after.
    async fn finish_login(&self, state_hash: &str) -> StoreResult<bool>;
}

/// Everything the bot stores, as one object to pass around.
pub trait Store:
    GuildStore
    + AllowlistStore
    + SettingsStore
    + UserStore
    + HistoryStore
    + TrackCache
    + HeartbeatStore
    + AccessStore
    + AuditStore
    + IdentifyGate
    + PlaylistStore
    + LoginStore
{
}

impl<T> Store for T where
    T: GuildStore
        + AllowlistStore
        + SettingsStore
        + UserStore
        + HistoryStore
        + TrackCache
        + HeartbeatStore
        + AccessStore
        + AuditStore
        + IdentifyGate
        + PlaylistStore
        + LoginStore
{
}

pub type SharedStore = Arc<dyn Store>;

/// The result of a successful update.
#[derive(Debug)]
pub struct Updated<R, T> {
    pub record: R,
    pub version: u64,
    /// What the change function returned.
    pub output: T,
    /// Writes tried, the one that landed included: more than 1 means lost races.
    pub attempts: u32,
}

/// A record kind that the update helpers can read and conditionally write.
#[async_trait]
trait VersionedRecord: Send + Sync {
    type Record: Send;
    async fn load(&self) -> StoreResult<Versioned<Self::Record>>;
    async fn save(&self, record: &Self::Record, expected: u64) -> StoreResult<u64>;
    fn touch(record: &mut Self::Record, now_ms: u64);
}

struct GuildRecord<'a>(&'a dyn GuildStore, GuildId);

#[async_trait]
impl VersionedRecord for GuildRecord<'_> {
    type Record = GuildState;
    async fn load(&self) -> StoreResult<Versioned<GuildState>> {
        self.0.load_guild(self.1).await
    }
    async fn save(&self, record: &GuildState, expected: u64) -> StoreResult<u64> {
        self.0.save_guild(record, expected).await
    }
    fn touch(record: &mut GuildState, now_ms: u64) {
        record.last_active_ms = now_ms;
    }
}

struct UserRecord<'a>(&'a dyn UserStore, UserId);

#[async_trait]
impl VersionedRecord for UserRecord<'_> {
    type Record = UserProfile;
    async fn load(&self) -> StoreResult<Versioned<UserProfile>> {
        self.0.load_user(self.1).await
    }
    async fn save(&self, record: &UserProfile, expected: u64) -> StoreResult<u64> {
        self.0.save_user(record, expected).await
    }
    fn touch(record: &mut UserProfile, now_ms: u64) {
        record.last_active_ms = now_ms;
    }
}

/// Reads the guild, applies `change`, and writes it back conditionally, retrying lost races
/// with a fresh read. `change` may run more than once, so it must only touch the state.
/// An `Err` from `change` aborts without writing.
pub async fn update_guild<T, E, F>(
    store: &dyn GuildStore,
    clock: &dyn Clock,
    policy: RetryPolicy,
    guild: GuildId,
    change: F,
) -> Result<Updated<GuildState, T>, E>
where
    E: From<StoreError>,
    F: FnMut(&mut GuildState) -> Result<T, E>,
{
    update_record(&GuildRecord(store, guild), clock, policy, change).await
}

/// [`update_guild`] for user profiles.
pub async fn update_user<T, E, F>(
    store: &dyn UserStore,
    clock: &dyn Clock,
    policy: RetryPolicy,
    user: UserId,
    change: F,
) -> Result<Updated<UserProfile, T>, E>
where
    E: From<StoreError>,
    F: FnMut(&mut UserProfile) -> Result<T, E>,
{
    update_record(&UserRecord(store, user), clock, policy, change).await
}

async fn update_record<V, T, E, F>(
    records: &V,
    clock: &dyn Clock,
    policy: RetryPolicy,
    mut change: F,
) -> Result<Updated<V::Record, T>, E>
where
    V: VersionedRecord,
    E: From<StoreError>,
    F: FnMut(&mut V::Record) -> Result<T, E>,
{
    let mut backoff = Backoff::new(policy);
    loop {
        let Versioned { mut value, version } = records.load().await?;
        let output = change(&mut value)?;
        V::touch(&mut value, clock.now_ms());
        match records.save(&value, version).await {
            Ok(version) => {
                return Ok(Updated {
                    record: value,
                    version,
                    output,
                    attempts: backoff.attempts(),
                })
            }
            Err(StoreError::Conflict) => match backoff.next_delay() {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    return Err(E::from(StoreError::Contended {
                        attempts: backoff.attempts(),
                    }))
                }
            },
            Err(e) => return Err(E::from(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;
    use timmybot_domain::ManualClock;
    use timmybot_domain::{Platform, Position, Track};

    /// A guild store that another writer always beats to the save.
    #[derive(Default)]
    struct AlwaysRaced {
        saves: AtomicU32,
    }

    #[async_trait]
    impl GuildStore for AlwaysRaced {
        async fn load_guild(&self, guild: GuildId) -> StoreResult<Versioned<GuildState>> {
            Ok(Versioned {
                value: GuildState::new(guild),
                version: u64::from(self.saves.load(Ordering::SeqCst)),
            })
        }
        async fn save_guild(&self, _: &GuildState, _: u64) -> StoreResult<u64> {
            self.saves.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Conflict)
        }
    }

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_micros(10),
            max_delay: Duration::from_micros(50),
        }
    }

    #[tokio::test]
    async fn a_contended_update_gives_up_after_the_bound() {
        let store = AlwaysRaced::default();
        let clock = ManualClock::new(0);
        let g = GuildId::new(1).unwrap();
        let err = update_guild::<_, StoreError, _>(&store, &clock, policy(4), g, |_| Ok(()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Contended { attempts: 4 }),
            "{err:?}"
        );
        assert_eq!(store.saves.load(Ordering::SeqCst), 4);
        assert!(err.to_string().contains("try again"));
    }

    #[tokio::test]
    async fn a_refused_change_is_not_retried_or_written() {
        let store = AlwaysRaced::default();
        let clock = ManualClock::new(0);
        let g = GuildId::new(1).unwrap();
        let err = update_guild::<(), StoreError, _>(&store, &clock, policy(4), g, |st| {
            Err(st.queue.skip(0).unwrap_err().into())
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, StoreError::Queue(QueueError::NothingPlaying)),
            "{err:?}"
        );
        assert_eq!(store.saves.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_change_sees_a_fresh_read_on_each_attempt() {
        let store = AlwaysRaced::default();
        let clock = ManualClock::new(0);
        let g = GuildId::new(1).unwrap();
        let mut seen = Vec::new();
        let track = Track::new(
            timmybot_domain::TrackKey::new(Platform::Http, "x").unwrap(),
            "x",
            "https://a.example/x",
            timmybot_domain::UserId::new(1).unwrap(),
        )
        .unwrap();
        let _ = update_guild::<_, StoreError, _>(&store, &clock, policy(3), g, |st| {
            seen.push(st.queue.len());
            Ok(st.queue.add(track.clone(), Position::End)?)
        })
        .await;
        assert_eq!(
            seen,
            [0, 0, 0],
            "no attempt sees an earlier attempt's change"
        );
    }
}
