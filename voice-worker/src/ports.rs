//! What the player needs from the outside world, as traits: voice (songbird), Discord's REST
//! API (replies and the now-playing message) and who is listening (the gateway's voice-state
//! cache). Adapters live in `adapters/`; tests bring fakes. The store, the bus and the
//! worker's ECS service are ports of their own crates.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use timmybot_discord::render::NowPlayingView;
use timmybot_domain::{ChannelId, GuildId, HistoryEntry, MessageId, ReplyTo, Track, UserId};
use twilight_model::channel::message::Component;

type Cause = Box<dyn StdError + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The gateway or the voice server refused, or did not answer in time.
    #[error("joining the voice channel failed")]
    Join(#[source] Cause),
    /// The call would not be end-to-end encrypted, which Discord requires; the text is fit
    /// for users.
    #[error("{0}")]
    Unencrypted(Unencrypted),
    #[error("not connected to voice in this guild")]
    NotConnected,
    /// The track could not be opened; the text is fit for users.
    #[error("{0}")]
    Source(String),
}

/// Why a call could not be end-to-end encrypted (DAVE), in words fit for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unencrypted {
    /// The voice server offered a DAVE version the voice library cannot speak.
    #[error("Discord asked for voice encryption (DAVE) version {0}, which this version of TimmyBot can't speak")]
    UnsupportedVersion(u16),
    /// The voice server said DAVE, and the group's keys never came.
    #[error("Discord's voice encryption (DAVE) handshake did not complete")]
    HandshakeIncomplete,
}

/// How a call's audio is protected on its way to Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// End-to-end encrypted with DAVE: only the people in the call can decrypt it.
    EndToEnd {
        version: u16,
        epoch: u64,
        /// The voice privacy code Discord's clients show for this epoch.
        privacy_code: Option<String>,
    },
    /// The voice server declined DAVE: transport encryption only.
    TransportOnly,
}

/// How a track stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackEnd {
    /// Played to its end, or was stopped.
    Finished,
    /// The source failed (download, decode); the text is fit for users.
    Failed(String),
}

/// Called once when a started track stops. Runs on songbird's event task, so it must be
/// quick and must never block.
pub type OnEnd = Box<dyn FnOnce(TrackEnd) + Send + 'static>;

/// A playing (or paused) track in a call. Commands given before the track is in the call
/// are kept and applied, in order, when it gets there.
pub trait TrackControl: Send + Sync {
    fn play(&self);
    fn pause(&self);
    fn stop(&self);
    fn set_volume(&self, gain: f32);
    fn seek(&self, to: Duration);
}

/// A track whose input is already opened and probed, not yet in the call. Starting it is
/// synchronous and cheap, so an end handler can do it: songbird adds new tracks before it
/// mixes a tick, but applies play commands after, so adding beats un-pausing by a frame.
pub trait Armed: Send {
    /// Adds the track to the call at `at`, playing unless `paused`.
    fn start(self: Box<Self>, at: Duration, paused: bool) -> Arc<dyn TrackControl>;
}

#[async_trait]
pub trait Voice: Send + Sync {
    /// Joins or moves to `channel`. On failure the bot is not left sitting in the channel.
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), VoiceError>;
    /// Waits, at most `within`, until the call's audio is end-to-end encrypted (or the voice
    /// server declined DAVE), and says how it is protected. Until then the voice library sends
    /// audio that DAVE clients drop. Errs with [`VoiceError::Unencrypted`] when `within`
    /// passes first.
    async fn protection(&self, guild: GuildId, within: Duration) -> Result<Protection, VoiceError>;
    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError>;
    /// Opens and probes `track` (connects, downloads headers, runs yt-dlp) so that it can
    /// start at once; `on_end` fires once when the started track stops.
    async fn arm(
        &self,
        guild: GuildId,
        track: &Track,
        gain: f32,
        on_end: OnEnd,
    ) -> Result<Box<dyn Armed>, VoiceError>;
}

/// Who sits where, from the gateway's voice states.
pub trait Presence: Send + Sync {
    /// Members other than bots in `channel`.
    fn listeners(&self, guild: GuildId, channel: ChannelId) -> Vec<UserId>;
}

#[derive(Debug, thiserror::Error)]
#[error("a Discord REST call failed")]
pub struct NotifyError(#[source] pub Cause);

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Edits the interaction's original response (`PATCH …/messages/@original`).
    async fn edit_reply(&self, reply: &ReplyTo, content: &str) -> Result<(), NotifyError>;
    /// Posts the now-playing message, or edits `existing`; returns the message id.
    async fn now_playing(
        &self,
        channel: ChannelId,
        existing: Option<MessageId>,
        view: &NowPlayingView,
    ) -> Result<MessageId, NotifyError>;
    /// A plain message in the text channel.
    async fn say(&self, channel: ChannelId, content: &str) -> Result<(), NotifyError>;
    /// Edits the interaction's original response to `content` (left as it is when `None`)
    /// with `components` under it (none: the components go).
    async fn edit_reply_components(
        &self,
        reply: &ReplyTo,
        content: Option<&str>,
        components: &[Component],
    ) -> Result<(), NotifyError>;
}

/// Autoplay's choice when the queue runs dry.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioPick {
    pub track: Track,
    /// The title of the play it follows ("because you played …").
    pub because: String,
}

/// What autoplay plays next: the recommendation engine, with the guild's own history as the
/// floor.
#[async_trait]
pub trait Radio: Send + Sync {
    /// One track like the guild's latest `history` (newest first), never one of its last
    /// [`AUTOPLAY_FRESH`] plays, as `requester` asked; within about `within` when the open
    /// services are slow. `None` when there is nothing new to play.
    async fn pick(
        &self,
        history: &[HistoryEntry],
        requester: UserId,
        within: Duration,
    ) -> Option<RadioPick>;
}

/// Autoplay never repeats one of this many latest plays.
pub const AUTOPLAY_FRESH: usize = 50;
