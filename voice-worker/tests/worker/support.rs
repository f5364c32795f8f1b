//! Fakes for the worker's ports, and [`TestWorker`]: the worker built by the real wiring
//! (`Worker::build`) on a real store and bus, fake voice, Discord and presence, and a manual
//! clock.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use timmybot_bus::{IntentBus, WorkerService};
use timmybot_config::{Source, WorkerSettings};
use timmybot_discord::render::NowPlayingView;
use timmybot_domain::{
    ChannelId, Clock, GuildId, ManualClock, MessageId, ReplyTo, ShardSpan, Track, UserId,
    WorkerIndex,
};
use timmybot_store::Store;
use voice_worker::consumer::ConsumerStats;
use voice_worker::identify::{IdentifyLog, DAILY_BUDGET};
use voice_worker::lifecycle::Lifecycle;
use voice_worker::players::Players;
use voice_worker::ports::{
    Armed, Notifier, NotifyError, OnEnd, Presence, Protection, TrackControl, TrackEnd, Unencrypted,
    Voice, VoiceError,
};
use voice_worker::worker::{open_sources, ConsumerTask, Ports, Worker};

#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Play,
    Pause,
    Stop,
    Volume(f32),
    Seek(Duration),
}

pub struct FakeTrack {
    pub guild: GuildId,
    pub at: Duration,
    pub gain: f32,
    pub cmds: Mutex<Vec<Cmd>>,
    on_end: Mutex<Option<OnEnd>>,
}

impl FakeTrack {
    pub fn cmds(&self) -> Vec<Cmd> {
        self.cmds.lock().unwrap().clone()
    }
    pub fn playing(&self) -> bool {
        self.cmds
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|c| matches!(c, Cmd::Play | Cmd::Pause | Cmd::Stop))
            == Some(&Cmd::Play)
    }
    /// Ends the track as songbird would, once.
    pub fn end(&self, how: TrackEnd) {
        if let Some(f) = self.on_end.lock().unwrap().take() {
            f(how);
        }
    }
}

struct Ctl(Arc<FakeTrack>);

impl TrackControl for Ctl {
    fn play(&self) {
        self.0.cmds.lock().unwrap().push(Cmd::Play);
    }
    fn pause(&self) {
        self.0.cmds.lock().unwrap().push(Cmd::Pause);
    }
    fn stop(&self) {
        self.0.cmds.lock().unwrap().push(Cmd::Stop);
    }
    fn set_volume(&self, gain: f32) {
        self.0.cmds.lock().unwrap().push(Cmd::Volume(gain));
    }
    fn seek(&self, to: Duration) {
        self.0.cmds.lock().unwrap().push(Cmd::Seek(to));
    }
}

#[derive(Default)]
pub struct FakeVoice {
    /// Joins fail, as songbird's do when the gateway or the voice server refuses.
    pub refuse_joins: std::sync::atomic::AtomicBool,
    /// Joins fail as songbird's does when the voice server offers a DAVE version it cannot
    /// speak.
    pub dave_version_refused: Mutex<Option<u16>>,
    /// Calls never become end-to-end encrypted (a DAVE handshake that does not complete).
    pub never_encrypted: std::sync::atomic::AtomicBool,
    /// Each wait for end-to-end encryption: the guild and how long it would wait.
    pub protection_waits: Mutex<Vec<(GuildId, Duration)>>,
    pub joins: Mutex<Vec<(GuildId, ChannelId)>>,
    pub leaves: Mutex<Vec<GuildId>>,
    /// Tracks opened and prepared, per guild, started or not.
    pub armed: Mutex<Vec<GuildId>>,
    pub tracks: Arc<Mutex<Vec<Arc<FakeTrack>>>>,
}

impl FakeVoice {
    pub fn tracks(&self, guild: GuildId) -> Vec<Arc<FakeTrack>> {
        self.tracks
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.guild == guild)
            .cloned()
            .collect()
    }
    pub fn armed(&self, guild: GuildId) -> usize {
        self.armed
            .lock()
            .unwrap()
            .iter()
            .filter(|g| **g == guild)
            .count()
    }
    /// The one track of `guild` playing now, if exactly one is.
    pub fn playing(&self, guild: GuildId) -> Option<Arc<FakeTrack>> {
        let playing: Vec<_> = self
            .tracks(guild)
            .into_iter()
            .filter(|t| t.playing())
            .collect();
        (playing.len() == 1).then(|| playing[0].clone())
    }
}

struct FakeArmed {
    guild: GuildId,
    gain: f32,
    on_end: OnEnd,
    tracks: Arc<Mutex<Vec<Arc<FakeTrack>>>>,
}

impl Armed for FakeArmed {
    fn start(self: Box<Self>, at: Duration, paused: bool) -> Arc<dyn TrackControl> {
        let t = Arc::new(FakeTrack {
            guild: self.guild,
            at,
            gain: self.gain,
            cmds: Mutex::new(vec![if paused { Cmd::Pause } else { Cmd::Play }]),
            on_end: Mutex::new(Some(self.on_end)),
        });
        self.tracks.lock().unwrap().push(t.clone());
        Arc::new(Ctl(t))
    }
}

#[async_trait]
impl Voice for FakeVoice {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), VoiceError> {
        if self.refuse_joins.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(VoiceError::Join(
                "gateway connection dropped (code 4006)".into(),
            ));
        }
        if let Some(v) = *self.dave_version_refused.lock().unwrap() {
            return Err(VoiceError::Unencrypted(Unencrypted::UnsupportedVersion(v)));
        }
        self.joins.lock().unwrap().push((guild, channel));
        Ok(())
    }
    async fn protection(&self, guild: GuildId, within: Duration) -> Result<Protection, VoiceError> {
        self.protection_waits.lock().unwrap().push((guild, within));
        if self
            .never_encrypted
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(VoiceError::Unencrypted(Unencrypted::HandshakeIncomplete));
        }
        Ok(Protection::EndToEnd {
            version: 1,
            epoch: 1,
            privacy_code: None,
        })
    }
    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError> {
        self.leaves.lock().unwrap().push(guild);
        Ok(())
    }
    async fn arm(
        &self,
        guild: GuildId,
        _track: &Track,
        gain: f32,
        on_end: OnEnd,
    ) -> Result<Box<dyn Armed>, VoiceError> {
        self.armed.lock().unwrap().push(guild);
        Ok(Box::new(FakeArmed {
            guild,
            gain,
            on_end,
            tracks: self.tracks.clone(),
        }))
    }
}

#[derive(Default)]
pub struct FakeNotifier {
    /// (interaction token, text), in order.
    pub replies: Mutex<Vec<(String, String)>>,
    pub said: Mutex<Vec<(ChannelId, String)>>,
    pub cards: Mutex<Vec<(ChannelId, Option<MessageId>, String)>>,
    /// Each card's (paused, position) as drawn.
    pub card_positions: Mutex<Vec<(bool, u64)>>,
    /// Held for writing by a test, it keeps reply edits waiting (and with them the player).
    pub reply_gate: tokio::sync::RwLock<()>,
}

impl FakeNotifier {
    pub fn replies(&self) -> Vec<(String, String)> {
        self.replies.lock().unwrap().clone()
    }
    pub fn said(&self) -> Vec<String> {
        self.said
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn edit_reply(&self, reply: &ReplyTo, content: &str) -> Result<(), NotifyError> {
        let _open = self.reply_gate.read().await;
        self.replies
            .lock()
            .unwrap()
            .push((reply.token.expose().to_owned(), content.to_owned()));
        Ok(())
    }
    async fn now_playing(
        &self,
        channel: ChannelId,
        existing: Option<MessageId>,
        card: &NowPlayingView,
    ) -> Result<MessageId, NotifyError> {
        self.cards
            .lock()
            .unwrap()
            .push((channel, existing, card.track.title.clone()));
        self.card_positions
            .lock()
            .unwrap()
            .push((card.paused, card.position_ms));
        Ok(existing.unwrap_or_else(|| MessageId::new(999).unwrap()))
    }
    async fn say(&self, channel: ChannelId, content: &str) -> Result<(), NotifyError> {
        self.said
            .lock()
            .unwrap()
            .push((channel, content.to_owned()));
        Ok(())
    }
    async fn edit_reply_components(
        &self,
        reply: &ReplyTo,
        content: Option<&str>,
        _: &[twilight_model::channel::message::Component],
    ) -> Result<(), NotifyError> {
        match content {
            Some(text) => self.edit_reply(reply, text).await,
            None => Ok(()),
        }
    }
}

/// Everyone in a channel, set by the test.
#[derive(Default)]
pub struct FakePresence(pub Mutex<HashMap<(GuildId, ChannelId), Vec<UserId>>>);

impl FakePresence {
    pub fn set(&self, guild: GuildId, channel: ChannelId, users: &[u64]) {
        self.0.lock().unwrap().insert(
            (guild, channel),
            users.iter().map(|u| UserId::new(*u).unwrap()).collect(),
        );
    }
}

impl Presence for FakePresence {
    fn listeners(&self, guild: GuildId, channel: ChannelId) -> Vec<UserId> {
        self.0
            .lock()
            .unwrap()
            .get(&(guild, channel))
            .cloned()
            .unwrap_or_default()
    }
}

pub struct TestWorker {
    pub voice: Arc<FakeVoice>,
    pub notifier: Arc<FakeNotifier>,
    pub presence: Arc<FakePresence>,
    pub players: Arc<Players>,
    pub stats: Arc<ConsumerStats>,
    pub lifecycle: Arc<Lifecycle>,
    worker: Worker,
    consumer: Option<ConsumerTask>,
}

#[derive(Clone)]
pub struct WorkerParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub bus: Arc<dyn IntentBus>,
    pub music_dir: std::path::PathBuf,
    pub service: Option<Arc<dyn WorkerService>>,
    pub idle_leave: Duration,
    pub idle_shutdown: Duration,
    /// Which worker this is, and its shards (one worker with every shard, unless a test
    /// splits them).
    pub worker: WorkerIndex,
    pub shards: ShardSpan,
}

/// Writes tone files `a.wav`, `b.wav`, … into `dir` for `local:` queries.
pub fn music(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(format!("{name}.wav")), minute_of_silence()).unwrap();
    }
}

/// A minute-long WAV (8 kHz mono, so it stays small). Local files carry their length, and
/// the resume tests need tracks longer than the positions they save.
fn minute_of_silence() -> Vec<u8> {
    timmybot_fake_discord::audio::wav_from_pcm(&vec![0.0; 8_000 * 60], 1, 8_000)
}

impl TestWorker {
    /// Builds a worker as `startup` does, from settings; the consumer runs only after
    /// [`TestWorker::start`].
    pub fn build(parts: &WorkerParts) -> Self {
        let settings = WorkerSettings::read(&Source::from_pairs([
            ("DISCORD_TOKEN", "test-token".to_owned()),
            ("DISCORD_APPLICATION_ID", "1".to_owned()),
            ("MUSIC_DIR", parts.music_dir.display().to_string()),
            ("IDLE_LEAVE", format!("{}ms", parts.idle_leave.as_millis())),
            (
                "IDLE_SHUTDOWN",
                format!("{}ms", parts.idle_shutdown.as_millis()),
            ),
        ]))
        .unwrap();
        let clock: Arc<dyn Clock> = parts.clock.clone();
        let sources = open_sources(
            &settings,
            parts.store.clone(),
            clock.clone(),
            &parts.music_dir,
            None,
        )
        .unwrap();
        let voice = Arc::new(FakeVoice::default());
        let notifier = Arc::new(FakeNotifier::default());
        let presence = Arc::new(FakePresence::default());
        let worker = Worker::build(
            &settings,
            Ports {
                store: parts.store.clone(),
                bus: parts.bus.clone(),
                clock,
                voice: voice.clone(),
                presence: presence.clone(),
                notifier: notifier.clone(),
                sources: Arc::new(sources),
                radio: None,
                service: parts.service.clone(),
                identifies: Arc::new(IdentifyLog::new(vec![], DAILY_BUDGET)),
                worker: parts.worker,
                shards: parts.shards,
            },
        );
        Self {
            voice,
            notifier,
            presence,
            players: worker.players.clone(),
            stats: worker.stats.clone(),
            lifecycle: worker.lifecycle.clone(),
            worker,
            consumer: None,
        }
    }

    /// Starts taking intents (from the bus the worker was built on).
    pub fn start(&mut self) {
        self.consumer = Some(self.worker.spawn_consumer());
    }

    /// Stops taking intents and waits for the poll loop to end.
    pub async fn stop_consuming(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.stop().await;
        }
    }
}

/// Waits until `check` holds, or fails after `secs`.
pub async fn eventually<F: FnMut() -> bool>(secs: u64, what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A store that refuses to write a guild's now-playing message id, and otherwise is `inner`.
pub struct NoCardIds(pub Arc<dyn Store>);

#[async_trait]
impl timmybot_store::GuildStore for NoCardIds {
    async fn load_guild(
        &self,
        guild: GuildId,
    ) -> timmybot_store::StoreResult<timmybot_domain::Versioned<timmybot_domain::GuildState>> {
        self.0.load_guild(guild).await
    }
    async fn save_guild(
        &self,
        state: &timmybot_domain::GuildState,
        expected: u64,
    ) -> timmybot_store::StoreResult<u64> {
        let stored = self.0.load_guild(state.guild_id).await?.value;
        if state.np_message_id != stored.np_message_id {
            return Err(timmybot_store::StoreError::Backend(
                "the disk is full".into(),
            ));
        }
        self.0.save_guild(state, expected).await
    }
}

#[async_trait]
impl timmybot_store::AllowlistStore for NoCardIds {
    async fn allow(&self, e: &timmybot_domain::AllowEntry) -> timmybot_store::StoreResult<()> {
        self.0.allow(e).await
    }
    async fn revoke(&self, g: GuildId) -> timmybot_store::StoreResult<bool> {
        self.0.revoke(g).await
    }
    async fn is_allowed(&self, g: GuildId) -> timmybot_store::StoreResult<bool> {
        self.0.is_allowed(g).await
    }
    async fn list_allowed(&self) -> timmybot_store::StoreResult<Vec<timmybot_domain::AllowEntry>> {
        self.0.list_allowed().await
    }
}

#[async_trait]
impl timmybot_store::SettingsStore for NoCardIds {
    async fn guild_settings(
        &self,
        g: GuildId,
    ) -> timmybot_store::StoreResult<timmybot_domain::GuildSettings> {
        self.0.guild_settings(g).await
    }
    async fn save_guild_settings(
        &self,
        s: &timmybot_domain::GuildSettings,
    ) -> timmybot_store::StoreResult<()> {
        self.0.save_guild_settings(s).await
    }
}

#[async_trait]
impl timmybot_store::UserStore for NoCardIds {
    async fn load_user(
        &self,
        u: UserId,
    ) -> timmybot_store::StoreResult<timmybot_domain::Versioned<timmybot_domain::UserProfile>> {
        self.0.load_user(u).await
    }
    async fn save_user(
        &self,
        p: &timmybot_domain::UserProfile,
        expected: u64,
    ) -> timmybot_store::StoreResult<u64> {
        self.0.save_user(p, expected).await
    }
}

#[async_trait]
impl timmybot_store::HistoryStore for NoCardIds {
    async fn record_play(
        &self,
        e: &timmybot_domain::HistoryEntry,
    ) -> timmybot_store::StoreResult<()> {
        self.0.record_play(e).await
    }
    async fn recent_plays(
        &self,
        g: GuildId,
        limit: usize,
    ) -> timmybot_store::StoreResult<Vec<timmybot_domain::HistoryEntry>> {
        self.0.recent_plays(g, limit).await
    }
}

#[async_trait]
impl timmybot_store::TrackCache for NoCardIds {
    async fn cached_track(
        &self,
        k: &timmybot_domain::TrackKey,
    ) -> timmybot_store::StoreResult<Option<timmybot_domain::CachedTrack>> {
        self.0.cached_track(k).await
    }
    async fn cache_track(
        &self,
        t: &timmybot_domain::CachedTrack,
    ) -> timmybot_store::StoreResult<()> {
        self.0.cache_track(t).await
    }
}

#[async_trait]
impl timmybot_store::HeartbeatStore for NoCardIds {
    async fn beat(
        &self,
        w: WorkerIndex,
        h: &timmybot_domain::Heartbeat,
    ) -> timmybot_store::StoreResult<()> {
        self.0.beat(w, h).await
    }
    async fn last_beat(
        &self,
        w: WorkerIndex,
    ) -> timmybot_store::StoreResult<Option<timmybot_domain::Heartbeat>> {
        self.0.last_beat(w).await
    }
}

#[async_trait]
impl timmybot_store::IdentifyGate for NoCardIds {
    async fn claim_identify(
        &self,
        bucket: u32,
        now_ms: u64,
        hold_ms: u64,
    ) -> timmybot_store::StoreResult<timmybot_store::Claim> {
        self.0.claim_identify(bucket, now_ms, hold_ms).await
    }
}

#[async_trait]
impl timmybot_store::AccessStore for NoCardIds {
    async fn request_access(
        &self,
        r: &timmybot_domain::AccessRequest,
    ) -> timmybot_store::StoreResult<bool> {
        self.0.request_access(r).await
    }
    async fn access_request(
        &self,
        g: GuildId,
    ) -> timmybot_store::StoreResult<Option<timmybot_domain::AccessRequest>> {
        self.0.access_request(g).await
    }
    async fn pending_requests(
        &self,
    ) -> timmybot_store::StoreResult<Vec<timmybot_domain::AccessRequest>> {
        self.0.pending_requests().await
    }
    async fn close_request(
        &self,
        g: GuildId,
    ) -> timmybot_store::StoreResult<Option<timmybot_domain::AccessRequest>> {
        self.0.close_request(g).await
    }
}

#[async_trait]
impl timmybot_store::AuditStore for NoCardIds {
    async fn audit(&self, e: &timmybot_domain::AuditEntry) -> timmybot_store::StoreResult<()> {
        self.0.audit(e).await
    }
    async fn audit_log(
        &self,
        scope: timmybot_domain::AuditScope,
        limit: usize,
    ) -> timmybot_store::StoreResult<Vec<timmybot_domain::AuditEntry>> {
        self.0.audit_log(scope, limit).await
    }
}

#[async_trait::async_trait]
impl timmybot_store::LoginStore for NoCardIds {
    async fn begin_login(&self, h: &str, at: u64) -> timmybot_store::StoreResult<()> {
        self.0.begin_login(h, at).await
    }
    async fn finish_login(&self, h: &str) -> timmybot_store::StoreResult<bool> {
        self.0.finish_login(h).await
    }
}

#[async_trait]
impl timmybot_store::PlaylistStore for NoCardIds {
    async fn save_playlist(
        &self,
        p: &timmybot_domain::SavedPlaylist,
    ) -> timmybot_store::StoreResult<()> {
        self.0.save_playlist(p).await
    }
    async fn playlist(
        &self,
        g: GuildId,
        name: &timmybot_domain::PlaylistName,
    ) -> timmybot_store::StoreResult<Option<timmybot_domain::SavedPlaylist>> {
        self.0.playlist(g, name).await
    }
    async fn playlists(
        &self,
        g: GuildId,
    ) -> timmybot_store::StoreResult<Vec<timmybot_domain::PlaylistSummary>> {
        self.0.playlists(g).await
    }
    async fn delete_playlist(
        &self,
        g: GuildId,
        name: &timmybot_domain::PlaylistName,
    ) -> timmybot_store::StoreResult<bool> {
        self.0.delete_playlist(g, name).await
    }
}

/// What the code under test logs, as text, for as long as the guard lives. Thread-local:
/// use it in a current-thread runtime, so the spawned tasks log on the same thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || LogWriter(sink.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct LogWriter(Logs);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0).0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
