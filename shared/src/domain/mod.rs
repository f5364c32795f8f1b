//! The pure domain: ids, tracks, queue rules, intents and stored records. No I/O here.

pub mod ids;
pub mod intent;
pub mod owners;
pub mod queue;
pub mod records;
pub mod track;

pub use ids::{ChannelId, GuildId, IdError, MessageId, RoleId, UserId};
pub use intent::{IntentError, IntentId, IntentKind, InteractionToken, PlaybackIntent, ReplyTo};
pub use owners::BotOwners;
pub use queue::{
    Added, GuildQueue, LoopMode, NowPlaying, Position, QueueError, Transition, Volume,
};
pub use records::{
    AllowEntry, CachedTrack, GuildSettings, GuildState, Heartbeat, HistoryEntry, PendingAuth,
    SealedBlob, UserProfile, Versioned, WorkerMarks, APPLIED_MAX,
};
pub use track::{Platform, Track, TrackError, TrackKey};
