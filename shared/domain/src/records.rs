//! The records the stores keep, one per item kind in DESIGN.md's table, and how long each lives.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{ChannelId, GuildId, MessageId, RoleId, UserId};
use super::queue::GuildQueue;
use super::track::{Platform, TrackKey};

const HOUR_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Guild state lives a day past its last activity.
pub const GUILD_STATE_TTL_MS: u64 = DAY_MS;
/// A user profile lives 30 days past its last activity.
pub const USER_TTL_MS: u64 = 30 * DAY_MS;
/// Play history is kept 90 days.
pub const HISTORY_TTL_MS: u64 = 90 * DAY_MS;
/// A track resolution is cached 7 days.
pub const TRACK_CACHE_TTL_MS: u64 = 7 * DAY_MS;
/// DynamoDB refuses an item over 400 KB; the SQLite store holds itself to the same limit.
pub const ITEM_MAX_BYTES: usize = 400 * 1024;

/// A record as stored, with the version its next write must be conditional on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    /// 0 when nothing is stored yet; each write adds one.
    pub version: u64,
}

/// How many applied intent ids a guild remembers. SQS FIFO redelivers within the visibility
/// timeout and dedups for 5 minutes, so a few dozen cover any redelivery of one guild's intents.
pub const APPLIED_MAX: usize = 64;

/// The worker's bookkeeping on a guild: intents already applied, and skip votes on the
/// current track. Written in the same conditional write as the queue change it records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerMarks {
    #[serde(default)]
    applied: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skip_votes: Vec<UserId>,
    /// Bumped each time a track starts afresh (start, skip, advance, stop), so the worker can
    /// tell a new play of the same track from the one it already plays.
    #[serde(default)]
    play_seq: u64,
    /// Paused by the worker's shutdown rather than by a user: resume on the next start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// The current track is autoplay's, chosen because of this one (its title). Any new
    /// play clears it; a `/play` replaces autoplay's track at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoplay_because: Option<String>,
}

impl WorkerMarks {
    pub fn has_applied(&self, id: &str) -> bool {
        self.applied.iter().any(|a| a == id)
    }

    /// Records `id`, forgetting the oldest beyond [`APPLIED_MAX`].
    pub fn record(&mut self, id: &str) {
        if self.has_applied(id) {
            return;
        }
        if self.applied.len() >= APPLIED_MAX {
            self.applied.remove(0);
        }
        self.applied.push(id.to_owned());
    }

    pub fn skip_votes(&self) -> &[UserId] {
        &self.skip_votes
    }

    /// Adds a vote; returns the number of distinct voters.
    pub fn vote_skip(&mut self, user: UserId) -> usize {
        if !self.skip_votes.contains(&user) {
            self.skip_votes.push(user);
        }
        self.skip_votes.len()
    }

    pub fn play_seq(&self) -> u64 {
        self.play_seq
    }

    /// A new play begins: a new sequence number, no votes, and not autoplay's (until
    /// autoplay says so).
    pub fn new_play(&mut self) -> u64 {
        self.play_seq += 1;
        self.skip_votes.clear();
        self.autoplay_because = None;
        self.play_seq
    }
}

/// One guild's playback state: the `GUILD#<id>` / `STATE` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildState {
    pub guild_id: GuildId,
    pub queue: GuildQueue,
    pub voice_channel_id: Option<ChannelId>,
    pub text_channel_id: Option<ChannelId>,
    pub np_message_id: Option<MessageId>,
    pub last_active_ms: u64,
    /// What the worker has already done, so a redelivered intent changes nothing twice.
    pub marks: WorkerMarks,
}

impl GuildState {
    pub fn new(guild_id: GuildId) -> Self {
        Self {
            guild_id,
            queue: GuildQueue::new(),
            voice_channel_id: None,
            text_channel_id: None,
            np_message_id: None,
            last_active_ms: 0,
            marks: WorkerMarks::default(),
        }
    }

    pub fn expires_at_ms(&self) -> u64 {
        self.last_active_ms.saturating_add(GUILD_STATE_TTL_MS)
    }
}

/// Longest allowlist note kept: it is for people, not a document store.
pub const NOTE_MAX: usize = 200;

/// A guild the bot may serve: the `GUILD#<id>` / `ALLOW` item. It never expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowEntry {
    pub guild_id: GuildId,
    pub approved_by: UserId,
    pub approved_at_ms: u64,
    #[serde(default)]
    pub note: String,
}

/// A guild's own choices, set with `/settings`: the `GUILD#<id>` / `SETTINGS` item.
/// It never expires: unlike the queue, nobody expects settings to lapse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildSettings {
    pub guild_id: GuildId,
    /// Members with this role are DJs; with none set, everyone is.
    #[serde(default)]
    pub dj_role: Option<RoleId>,
    /// How long the bot stays alone or silent in a channel before leaving.
    #[serde(default)]
    pub idle_timeout_secs: Option<u32>,
    /// Where now-playing messages go; the channel of the command if unset.
    #[serde(default)]
    pub announce_channel: Option<ChannelId>,
    /// 24/7: stay in the voice channel when the queue ends or the channel empties.
    #[serde(default)]
    pub stay: bool,
    /// When the queue runs dry, keep playing suggestions seeded by what just played.
    #[serde(default)]
    pub autoplay: bool,
}

impl AllowEntry {
    /// An approval; the note is trimmed and cut to [`NOTE_MAX`] characters.
    pub fn new(guild_id: GuildId, approved_by: UserId, approved_at_ms: u64, note: &str) -> Self {
        Self {
            guild_id,
            approved_by,
            approved_at_ms,
            note: note.trim().chars().take(NOTE_MAX).collect(),
        }
    }
}

impl GuildSettings {
    pub fn new(guild_id: GuildId) -> Self {
        Self {
            guild_id,
            dj_role: None,
            idle_timeout_secs: None,
            announce_channel: None,
            stay: false,
            autoplay: false,
        }
    }
}

/// Ciphertext of an OAuth token (or device code, or PKCE verifier), sealed by the vault.
/// Opaque here; its Debug form never shows the bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedBlob(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl fmt::Debug for SealedBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBlob({} bytes)", self.0.len())
    }
}

/// An OAuth flow the user started and has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuth {
    pub platform: Platform,
    pub sealed: SealedBlob,
    pub expires_at_ms: u64,
}

/// A user's profile: the `USER#<id>` / `PROFILE` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_id: UserId,
    #[serde(default)]
    pub preferred_platform: Option<Platform>,
    /// Sealed tokens of the accounts the user linked, one per platform.
    #[serde(default)]
    pub linked: BTreeMap<Platform, SealedBlob>,
    #[serde(default)]
    pub pending_auth: Option<PendingAuth>,
    pub last_active_ms: u64,
}

impl UserProfile {
    pub fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            preferred_platform: None,
            linked: BTreeMap::new(),
            pending_auth: None,
            last_active_ms: 0,
        }
    }

    pub fn expires_at_ms(&self) -> u64 {
        self.last_active_ms.saturating_add(USER_TTL_MS)
    }
}

/// One play: the `HIST#<guild>` / `<ms>#<track key>` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub guild_id: GuildId,
    pub played_at_ms: u64,
    pub track_key: TrackKey,
    pub requester: UserId,
    pub title: String,
    #[serde(default)]
    pub artist: Option<String>,
    /// What to hand `/play` to play this again (URL or search).
    pub source: String,
}

impl HistoryEntry {
    pub fn expires_at_ms(&self) -> u64 {
        self.played_at_ms.saturating_add(HISTORY_TTL_MS)
    }
}

/// A resolved track's metadata: the `TRACK#<platform>#<id>` / `META` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedTrack {
    pub key: TrackKey,
    pub title: String,
    #[serde(default)]
    pub artist: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub thumbnail: Option<String>,
    #[serde(default)]
    pub isrc: Option<String>,
    /// What the player opens for it: a URL or a yt-dlp query.
    pub resolved_source: String,
    pub cached_at_ms: u64,
}

impl CachedTrack {
    pub fn expires_at_ms(&self) -> u64 {
        self.cached_at_ms.saturating_add(TRACK_CACHE_TTL_MS)
    }
}

/// A voice worker's liveness: the `WORKER#<index>` / `HEARTBEAT` item, one per worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub task_id: String,
    pub started_at_ms: u64,
    pub last_beat_ms: u64,
    #[serde(default)]
    pub active_guilds: Vec<GuildId>,
    /// When the worker identified to the gateway in the last day (epoch ms), so a crash loop
    /// cannot spend Discord's 1,000-a-day budget: a new task reads what the last one of the
    /// same index spent, against that worker's share of the budget.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifies: Vec<u64>,
}

impl Heartbeat {
    /// The worker counts as awake while its last beat is younger than `max_age_ms`.
    pub fn is_fresh(&self, now_ms: u64, max_age_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_beat_ms) <= max_age_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_never_print_their_bytes() {
        let blob = SealedBlob(b"secret-token".to_vec());
        assert_eq!(format!("{blob:?}"), "SealedBlob(12 bytes)");
    }

    #[test]
    fn marks_remember_the_latest_ids_and_distinct_votes() {
        let mut m = WorkerMarks::default();
        for i in 0..APPLIED_MAX + 3 {
            m.record(&format!("id{i}"));
        }
        m.record("id10");
        assert!(!m.has_applied("id0"), "the oldest are forgotten");
        assert!(!m.has_applied("id2"));
        assert!(m.has_applied("id3"));
        assert!(m.has_applied(&format!("id{}", APPLIED_MAX + 2)));
        let u = UserId::new(7).unwrap();
        assert_eq!(m.vote_skip(u), 1);
        assert_eq!(m.vote_skip(u), 1, "one vote per member");
        assert_eq!(m.vote_skip(UserId::new(8).unwrap()), 2);
        assert_eq!(m.new_play(), 1);
        assert!(m.skip_votes().is_empty(), "a new play starts with no votes");
    }

    #[test]
    fn expiries_follow_the_design() {
        let g = GuildState {
            last_active_ms: 1_000,
            ..GuildState::new(GuildId::new(1).unwrap())
        };
        assert_eq!(g.expires_at_ms(), 1_000 + 86_400_000);
        let u = UserProfile {
            last_active_ms: 5,
            ..UserProfile::new(UserId::new(1).unwrap())
        };
        assert_eq!(u.expires_at_ms(), 5 + 30 * 86_400_000);
    }

    #[test]
    fn an_allowlist_note_is_trimmed_and_bounded() {
        let (g, u) = (GuildId::new(1).unwrap(), UserId::new(2).unwrap());
        assert_eq!(AllowEntry::new(g, u, 0, "  friends ").note, "friends");
        assert_eq!(
            AllowEntry::new(g, u, 0, &"n".repeat(500))
                .note
                .chars()
                .count(),
            NOTE_MAX
        );
    }

    #[test]
    fn heartbeat_freshness() {
        let hb = Heartbeat {
            task_id: "t".into(),
            started_at_ms: 0,
            last_beat_ms: 100_000,
            active_guilds: vec![],
            identifies: vec![],
        };
        assert!(hb.is_fresh(145_000, 45_000));
        assert!(!hb.is_fresh(145_001, 45_000));
        assert!(
            hb.is_fresh(50_000, 45_000),
            "a clock behind the beat counts as fresh"
        );
    }
}
