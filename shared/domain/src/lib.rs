//! TimmyBot's domain: ids, tracks, the queue rules, playback intents, the records the stores
//! keep, time as a port, the retry policy and who owns which shard. Pure: no I/O, and no AWS,
//! Discord or audio library, so every rule here is tested without any of them.

pub mod access;
pub mod clock;
pub mod ids;
pub mod intent;
pub mod library;
pub mod owners;
pub mod playlist;
pub mod queue;
pub mod records;
pub mod retry;
pub mod shards;
pub mod track;

#[cfg(test)]
mod queue_props;
#[cfg(test)]
mod shards_props;

pub use access::{AccessRequest, AuditAction, AuditEntry, AuditOrigin, AuditScope, RequestError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{ApplicationId, ChannelId, GuildId, IdError, MessageId, RoleId, UserId};
pub use intent::{IntentError, IntentId, IntentKind, InteractionToken, PlaybackIntent, ReplyTo};
pub use library::{Expanded, LibraryList, LibraryRef, LibraryRefError, LibraryTrack};
pub use owners::BotOwners;
pub use playlist::{PlaylistError, PlaylistName, PlaylistSummary, SavedPlaylist};
pub use queue::{
    Added, GuildQueue, LoopMode, NowPlaying, Position, QueueError, Transition, Volume,
};
pub use records::{
    AllowEntry, CachedTrack, GuildSettings, GuildState, Heartbeat, HistoryEntry, PendingAuth,
    SealedBlob, UserProfile, Versioned, WorkerMarks, APPLIED_MAX,
};
pub use retry::{Backoff, RetryPolicy};
pub use shards::{identify_bucket, PlanError, ShardPlan, ShardSpan, WorkerIndex};
pub use track::{Platform, Track, TrackError, TrackKey};
