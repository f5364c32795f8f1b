//! Fakes for the worker's ports, and `spawn_worker`: a worker on a real store and bus with
//! fake voice, Discord and presence.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use songbird::input::Input;
use timmybot_shared::bus::IntentBus;
use timmybot_shared::clock::{Clock, ManualClock};
use timmybot_shared::domain::{ChannelId, GuildId, MessageId, ReplyTo, UserId};
use timmybot_shared::retry::RetryPolicy;
use timmybot_shared::sources::{Guard, Sources, SourcesConfig};
use timmybot_shared::store::Store;
use tokio::sync::watch;
use voice_worker::consumer::{Consumer, ConsumerStats, Players};
use voice_worker::identify::IdentifyLog;
use voice_worker::lifecycle::{Lifecycle, LifecycleConfig};
use voice_worker::player::Deps;
use voice_worker::ports::{
    Armed, Notifier, NotifyError, NowPlayingCard, OnEnd, Presence, Scaler, TrackControl, TrackEnd,
    Voice, VoiceError,
};

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
        self.joins.lock().unwrap().push((guild, channel));
        Ok(())
    }
    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError> {
        self.leaves.lock().unwrap().push(guild);
        Ok(())
    }
    async fn arm(
        &self,
        guild: GuildId,
        _input: Input,
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
        card: &NowPlayingCard,
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
    stop: watch::Sender<bool>,
    consumer: Option<tokio::task::JoinHandle<()>>,
}

pub struct WorkerParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub bus: Arc<dyn IntentBus>,
    pub music_dir: std::path::PathBuf,
    pub scaler: Option<Arc<dyn Scaler>>,
    pub idle_leave: Duration,
    pub idle_shutdown: Duration,
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
    timmybot_tests::audio::wav_from_pcm(&vec![0.0; 8_000 * 60], 1, 8_000)
}

impl TestWorker {
    /// Builds a worker; the consumer runs only after [`TestWorker::start`].
    pub fn build(parts: &WorkerParts) -> Self {
        let clock: Arc<dyn Clock> = parts.clock.clone();
        let sources = Sources::new(
            SourcesConfig {
                ytdl_program: "yt-dlp".into(),
                ytdl_args: vec![],
                guard: Guard::default(),
                spotify: None,
                music_dir: Some(parts.music_dir.clone()),
            },
            parts.store.clone(),
            clock.clone(),
        )
        .unwrap();
        let voice = Arc::new(FakeVoice::default());
        let notifier = Arc::new(FakeNotifier::default());
        let presence = Arc::new(FakePresence::default());
        let deps = Arc::new(Deps {
            store: parts.store.clone(),
            clock: clock.clone(),
            voice: voice.clone(),
            presence: presence.clone(),
            notifier: notifier.clone(),
            sources: Arc::new(sources),
            retry: RetryPolicy::default(),
            idle_leave: parts.idle_leave,
            active: Mutex::new(Default::default()),
        });
        let players = Players::new(deps);
        let stats = Arc::new(ConsumerStats::default());
        let lifecycle = Arc::new(Lifecycle {
            config: LifecycleConfig {
                task_id: "test-task".into(),
                heartbeat_every: Duration::from_secs(15),
                idle_shutdown: parts.idle_shutdown,
                tick_every: Duration::from_secs(5),
            },
            players: players.clone(),
            stats: stats.clone(),
            scaler: parts.scaler.clone(),
            started_at_ms: clock.now_ms(),
            identifies: Arc::new(IdentifyLog::new(vec![], 900)),
        });
        let (stop, _) = watch::channel(false);
        Self {
            voice,
            notifier,
            presence,
            players,
            stats,
            lifecycle,
            stop,
            consumer: None,
        }
    }

    pub fn start(&mut self, bus: Arc<dyn IntentBus>) {
        let consumer = Consumer {
            bus,
            players: self.players.clone(),
            stats: self.stats.clone(),
        };
        let rx = self.stop.subscribe();
        self.consumer = Some(tokio::spawn(async move { consumer.run(rx).await }));
    }

    /// Stops taking intents and waits for the poll loop to end.
    pub async fn stop_consuming(&mut self) {
        let _ = self.stop.send(true);
        if let Some(c) = self.consumer.take() {
            let _ = c.await;
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
