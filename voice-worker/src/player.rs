//! One player per guild: an actor that owns the guild's call. Jobs (intents, track ends,
//! idle ticks, resume, shutdown) run one at a time, so a guild's intents apply in order while
//! other guilds run concurrently.
//!
//! The stored state is the truth. Each job changes the state with a versioned write, then
//! [`GuildPlayer::sync`] makes the call match it. The next track is opened and probed while
//! the current one plays, and the current track's end handler adds it to the call directly,
//! so the handoff waits neither for the store nor for a download.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot_shared::clock::Clock;
use timmybot_shared::domain::{
    ChannelId, GuildId, GuildState, HistoryEntry, IntentKind, PlaybackIntent, Track, TrackKey,
};
use timmybot_shared::retry::RetryPolicy;
use timmybot_shared::sources::Sources;
use timmybot_shared::store::{update_guild, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::apply::{self, Effect};
use crate::ports::{
    Armed, Notifier, NowPlayingCard, OnEnd, Presence, TrackControl, TrackEnd, Voice,
};

/// Jobs waiting for one guild before senders wait.
const MAILBOX: usize = 64;
/// After the last frame, songbird sends five silence frames (100 ms); leave after them.
const SILENCE_TAIL: Duration = Duration::from_millis(120);

#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the guild's player has stopped")]
    Gone,
}

/// What every player shares.
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub voice: Arc<dyn Voice>,
    pub presence: Arc<dyn Presence>,
    pub notifier: Arc<dyn Notifier>,
    pub sources: Arc<Sources>,
    pub retry: RetryPolicy,
    /// Leave after this long alone or silent in the channel.
    pub idle_leave: Duration,
    /// Guilds with a voice connection now.
    pub active: Mutex<HashSet<GuildId>>,
}

impl Deps {
    pub fn active_guilds(&self) -> Vec<GuildId> {
        let mut v: Vec<GuildId> = self
            .active
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn set_active(&self, guild: GuildId, on: bool) {
        if let Ok(mut s) = self.active.lock() {
            if on {
                s.insert(guild);
            } else {
                s.remove(&guild);
            }
        }
    }
}

pub enum Job {
    Intent {
        intent: Box<PlaybackIntent>,
        done: oneshot::Sender<Result<(), PlayerError>>,
    },
    Ended {
        token: u64,
        end: TrackEnd,
    },
    /// Check whether to leave an idle channel; `done` says when the check is over.
    Tick {
        done: Option<oneshot::Sender<()>>,
    },
    /// Start playing what the state says was playing. `freeze_at_ms`: after a crash, the
    /// last moment the old worker is known to have been playing.
    Resume {
        freeze_at_ms: Option<u64>,
        done: oneshot::Sender<()>,
    },
    /// Save the position, stop and leave.
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// The handle to a running player.
#[derive(Clone)]
pub struct PlayerHandle {
    tx: mpsc::Sender<Job>,
}

impl PlayerHandle {
    pub async fn send(&self, job: Job) -> Result<(), PlayerError> {
        self.tx.send(job).await.map_err(|_| PlayerError::Gone)
    }
}

struct Loaded {
    token: u64,
    ctl: Arc<dyn TrackControl>,
}

struct Playing {
    seq: u64,
    loaded: Loaded,
}

/// The track that follows the current one: armed (opened, not in the call) until the
/// current track's end handler starts it.
struct Next {
    token: u64,
    key: TrackKey,
    armed: Option<Box<dyn Armed>>,
    started: Option<Arc<dyn TrackControl>>,
}

#[derive(Default)]
struct Handoff {
    /// The token of the track whose end starts `next`.
    after: u64,
    next: Option<Next>,
}

pub struct GuildPlayer {
    guild: GuildId,
    deps: Arc<Deps>,
    tx: mpsc::Sender<Job>,
    current: Option<Playing>,
    handoff: Arc<Mutex<Handoff>>,
    connected: Option<ChannelId>,
    idle_since_ms: Option<u64>,
    /// The last state read or written.
    state: Option<GuildState>,
}

static TOKENS: AtomicU64 = AtomicU64::new(1);

impl GuildPlayer {
    /// Starts the actor; it runs until every handle is dropped.
    pub fn spawn(guild: GuildId, deps: Arc<Deps>) -> PlayerHandle {
        let (tx, rx) = mpsc::channel(MAILBOX);
        let player = GuildPlayer {
            guild,
            deps,
            tx: tx.clone(),
            current: None,
            handoff: Arc::new(Mutex::new(Handoff::default())),
            connected: None,
            idle_since_ms: None,
            state: None,
        };
        tokio::spawn(player.run(rx));
        PlayerHandle { tx }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(job) = rx.recv().await {
            match job {
                Job::Intent { intent, done } => {
                    let result = self.on_intent(&intent).await;
                    if let Err(e) = &result {
                        tracing::warn!(guild = %self.guild, intent = %intent.id, error = %e, "intent not applied; it will be delivered again");
                    }
                    let _ = done.send(result);
                }
                Job::Ended { token, end } => {
                    if let Err(e) = self.on_ended(token, end).await {
                        tracing::warn!(guild = %self.guild, error = %e, "advancing the queue failed");
                    }
                }
                Job::Tick { done } => {
                    if let Err(e) = self.on_tick().await {
                        tracing::warn!(guild = %self.guild, error = %e, "idle check failed");
                    }
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
                Job::Resume { freeze_at_ms, done } => {
                    if let Err(e) = self.on_resume(freeze_at_ms).await {
                        tracing::warn!(guild = %self.guild, error = %e, "resume failed");
                    }
                    let _ = done.send(());
                }
                Job::Shutdown { done } => {
                    if let Err(e) = self.on_shutdown().await {
                        tracing::warn!(guild = %self.guild, error = %e, "saving the position failed");
                    }
                    let _ = done.send(());
                }
            }
        }
    }

    fn now(&self) -> u64 {
        self.deps.clock.now_ms()
    }

    async fn update<T>(
        &mut self,
        change: impl FnMut(&mut GuildState) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let d = Arc::clone(&self.deps);
        let updated = update_guild(
            d.store.as_ref(),
            d.clock.as_ref(),
            d.retry,
            self.guild,
            change,
        )
        .await?;
        self.state = Some(updated.record);
        Ok(updated.output)
    }

    async fn on_intent(&mut self, intent: &PlaybackIntent) -> Result<(), PlayerError> {
        let id = intent.id.as_str().to_owned();
        let stored = self.deps.store.load_guild(self.guild).await?.value;
        if stored.marks.has_applied(&id) {
            // Redelivered: the state already holds its effect. Only make sure the call agrees.
            tracing::info!(guild = %self.guild, intent = %id, "already applied");
            self.state = Some(stored.clone());
            self.sync(&stored).await;
            return Ok(());
        }
        let resolved = match &intent.kind {
            IntentKind::Play {
                query,
                requester_id,
                ..
            } => Some(
                self.deps
                    .sources
                    .resolve(query, *requester_id)
                    .await
                    .map_err(|e| e.to_string()),
            ),
            _ => None,
        };
        let listeners = stored
            .voice_channel_id
            .map(|c| self.deps.presence.listeners(self.guild, c))
            .unwrap_or_default();
        let now = self.now();
        let mut resolved = resolved;
        let outcome = self
            .update(|st| {
                if st.marks.has_applied(&id) {
                    return Ok(None);
                }
                let out = apply::apply(
                    st,
                    intent,
                    apply::Ctx {
                        now_ms: now,
                        listeners: &listeners,
                        resolved: resolved.take(),
                    },
                );
                st.marks.record(&id);
                Ok(Some(out))
            })
            .await?;
        let state = self.state.clone();
        if let (Some(out), Some(state)) = (outcome, state) {
            match out.effect {
                Effect::Sync => self.sync(&state).await,
                Effect::Pause => self.each_track(|c| c.pause()),
                Effect::Resume => self.each_current(|c| c.play()),
                Effect::Seek(ms) => self.each_current(|c| c.seek(Duration::from_millis(ms))),
                Effect::Volume(gain) => self.each_track(|c| c.set_volume(gain)),
                Effect::None => {}
            }
            if out.effect != Effect::None {
                self.show_now_playing(&state).await;
            }
            if let (Some(text), Some(reply)) = (out.reply, &intent.reply) {
                if let Err(e) = self.deps.notifier.edit_reply(reply, &text).await {
                    tracing::warn!(guild = %self.guild, error = %e, "editing the reply failed");
                }
            }
        }
        Ok(())
    }

    fn each_current(&self, f: impl Fn(&dyn TrackControl)) {
        if let Some(p) = &self.current {
            f(p.loaded.ctl.as_ref());
        }
    }

    fn each_track(&self, f: impl Fn(&dyn TrackControl)) {
        self.each_current(&f);
        if let Ok(h) = self.handoff.lock() {
            if let Some(ctl) = h.next.as_ref().and_then(|n| n.started.as_ref()) {
                f(ctl.as_ref());
            }
        }
    }

    /// Stops everything, lets songbird send its silence frames, and leaves.
    async fn leave_voice(&mut self) {
        self.stop_all();
        if self.connected.take().is_some() {
            tokio::time::sleep(SILENCE_TAIL).await;
            if let Err(e) = self.deps.voice.leave(self.guild).await {
                tracing::warn!(guild = %self.guild, error = %e, "leaving voice failed");
            }
        }
        self.deps.set_active(self.guild, false);
    }

    /// Makes the call match `st`: channel, track, pause and volume, and the preloaded next.
    async fn sync(&mut self, st: &GuildState) {
        let Some(channel) = st.voice_channel_id else {
            self.leave_voice().await;
            return;
        };
        if self.connected != Some(channel) {
            match self.deps.voice.join(self.guild, channel).await {
                Ok(()) => {
                    self.connected = Some(channel);
                    self.idle_since_ms = None;
                    self.deps.set_active(self.guild, true);
                }
                Err(e) => {
                    tracing::warn!(guild = %self.guild, error = %e, "joining voice failed");
                    self.say(st, &format!("⚠ I couldn't join <#{channel}>: {e}"))
                        .await;
                    return;
                }
            }
        }
        let Some(np) = st.queue.now_playing() else {
            self.stop_all();
            return;
        };
        let seq = st.marks.play_seq();
        let gain = st.queue.volume().gain();
        if self.current.as_ref().map(|p| p.seq) != Some(seq) {
            if let Some(old) = self.current.take() {
                old.loaded.ctl.stop();
            }
            let at = np.position_ms(self.now());
            // The prepared next track serves only a play from the start.
            let next = self
                .take_next()
                .filter(|n| n.key == np.track.key && at < 1_000);
            let loaded = match next {
                Some(Next {
                    token,
                    started: Some(ctl),
                    ..
                }) => Loaded { token, ctl },
                Some(Next {
                    token,
                    armed: Some(armed),
                    ..
                }) => Loaded {
                    token,
                    ctl: armed.start(Duration::from_millis(at), np.paused),
                },
                other => {
                    if let Some(ctl) = other.and_then(|n| n.started) {
                        ctl.stop();
                    }
                    match self.load(&np.track, at, np.paused, gain).await {
                        Ok(l) => l,
                        Err(why) => {
                            self.failed(st, &np.track, &why).await;
                            return;
                        }
                    }
                }
            };
            self.current = Some(Playing { seq, loaded });
        }
        if np.paused {
            self.each_track(|c| c.pause());
        } else {
            self.each_current(|c| c.play());
        }
        self.each_track(|c| c.set_volume(gain));
        self.preload(st).await;
    }

    /// Prepares what plays after the current track and arms the handoff to it.
    async fn preload(&mut self, st: &GuildState) {
        let mut after = st.queue.clone();
        let next_track = after
            .advance(self.now())
            .ok()
            .and_then(|_| after.now_playing().map(|np| np.track.clone()));
        let (Some(current_token), Some(track)) =
            (self.current.as_ref().map(|p| p.loaded.token), next_track)
        else {
            self.stop_next();
            return;
        };
        if let Ok(mut h) = self.handoff.lock() {
            if h.next.as_ref().is_some_and(|n| n.key == track.key) {
                h.after = current_token;
                return;
            }
        }
        self.stop_next();
        match self.arm(&track, st.queue.volume().gain()).await {
            Ok((token, armed)) => {
                if let Ok(mut h) = self.handoff.lock() {
                    *h = Handoff {
                        after: current_token,
                        next: Some(Next {
                            token,
                            key: track.key.clone(),
                            armed: Some(armed),
                            started: None,
                        }),
                    };
                }
            }
            // It is tried again, and reported, when its turn comes.
            Err(why) => tracing::info!(guild = %self.guild, %why, "preloading failed"),
        }
    }

    fn take_next(&self) -> Option<Next> {
        self.handoff.lock().ok().and_then(|mut h| h.next.take())
    }

    fn stop_next(&self) {
        if let Some(ctl) = self.take_next().and_then(|n| n.started) {
            ctl.stop();
        }
    }

    /// Opens `track` and prepares it to start; returns its token.
    async fn arm(&self, track: &Track, gain: f32) -> Result<(u64, Box<dyn Armed>), String> {
        let input = self
            .deps
            .sources
            .open(track)
            .await
            .map_err(|e| e.to_string())?;
        let token = TOKENS.fetch_add(1, Ordering::Relaxed);
        let tx = self.tx.clone();
        let handoff = Arc::clone(&self.handoff);
        let on_end: OnEnd = Box::new(move |end| {
            // Start the next track first: this is the gap users hear.
            if let Ok(mut h) = handoff.lock() {
                if h.after == token {
                    if let Some(next) = h.next.as_mut() {
                        if let Some(armed) = next.armed.take() {
                            next.started = Some(armed.start(Duration::ZERO, false));
                        }
                    }
                }
            }
            let _ = tx.try_send(Job::Ended { token, end });
        });
        let armed = self
            .deps
            .voice
            .arm(self.guild, input, gain, on_end)
            .await
            .map_err(|e| e.to_string())?;
        Ok((token, armed))
    }

    async fn load(
        &self,
        track: &Track,
        at_ms: u64,
        paused: bool,
        gain: f32,
    ) -> Result<Loaded, String> {
        let (token, armed) = self.arm(track, gain).await?;
        Ok(Loaded {
            token,
            ctl: armed.start(Duration::from_millis(at_ms), paused),
        })
    }

    fn stop_all(&mut self) {
        self.stop_next();
        if let Some(p) = self.current.take() {
            p.loaded.ctl.stop();
        }
    }

    async fn on_ended(&mut self, token: u64, end: TrackEnd) -> Result<(), PlayerError> {
        let Some(current) = self.current.as_ref().filter(|p| p.loaded.token == token) else {
            return Ok(()); // a track we stopped on purpose
        };
        let seq = current.seq;
        let now = self.now();
        let finished = self
            .update(|st| {
                if st.marks.play_seq() != seq {
                    return Ok(None);
                }
                let done = st.queue.advance(now).ok().map(|t| t.finished);
                st.marks.new_play();
                Ok(done)
            })
            .await?;
        let Some(state) = self.state.clone() else {
            return Ok(());
        };
        if let Some(track) = &finished {
            match &end {
                TrackEnd::Finished => self.record_history(track, now).await,
                TrackEnd::Failed(why) => {
                    self.say(
                        &state,
                        &format!(
                            "⚠ Couldn't play {}: {why}. Skipping it.",
                            timmybot_shared::render::escape_title(track)
                        ),
                    )
                    .await;
                }
            }
        }
        self.sync(&state).await;
        self.show_now_playing(&state).await;
        Ok(())
    }

    /// A track could not even be opened: tell the channel and move on.
    async fn failed(&mut self, st: &GuildState, track: &Track, why: &str) {
        let text = format!(
            "⚠ Couldn't play {}: {why}. Skipping it.",
            timmybot_shared::render::escape_title(track)
        );
        self.say(st, &text).await;
        let seq = st.marks.play_seq();
        let now = self.now();
        // Advance past it, but not forever: loop modes could bring it straight back.
        let advanced = self
            .update(|s| {
                if s.marks.play_seq() != seq {
                    return Ok(false);
                }
                if s.queue.skip(now).is_ok() {
                    s.marks.new_play();
                }
                Ok(true)
            })
            .await;
        if let (Ok(true), Some(next)) = (advanced, self.state.clone()) {
            let retry = next
                .queue
                .now_playing()
                .is_some_and(|np| np.track.key != track.key);
            if retry {
                Box::pin(self.sync(&next)).await;
            }
        }
    }

    async fn record_history(&self, track: &Track, now: u64) {
        let entry = HistoryEntry {
            guild_id: self.guild,
            played_at_ms: now,
            track_key: track.key.clone(),
            requester: track.requester,
            title: track.title.clone(),
            artist: track.artist.clone(),
            source: track.source.clone(),
        };
        if let Err(e) = self.deps.store.record_play(&entry).await {
            tracing::warn!(guild = %self.guild, error = %e, "recording play history failed");
        }
    }

    async fn say(&self, st: &GuildState, text: &str) {
        if let Some(channel) = st.text_channel_id {
            if let Err(e) = self.deps.notifier.say(channel, text).await {
                tracing::warn!(guild = %self.guild, error = %e, "posting to the channel failed");
            }
        }
    }

    /// Posts or edits the now-playing message, and remembers its id.
    async fn show_now_playing(&mut self, st: &GuildState) {
        let (Some(channel), Some(np)) = (st.text_channel_id, st.queue.now_playing()) else {
            return;
        };
        let card = NowPlayingCard {
            track: np.track.clone(),
            paused: np.paused,
            position_ms: np.position_ms(self.deps.clock.now_ms()),
            loop_mode: st.queue.loop_mode(),
            volume_percent: st.queue.volume().percent(),
            up_next: st.queue.upcoming().first().cloned(),
        };
        match self
            .deps
            .notifier
            .now_playing(channel, st.np_message_id, &card)
            .await
        {
            Ok(id) if Some(id) != st.np_message_id => {
                let _ = self
                    .update(|s| {
                        s.np_message_id = Some(id);
                        Ok(())
                    })
                    .await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(guild = %self.guild, error = %e, "now-playing message failed"),
        }
    }

    async fn on_tick(&mut self) -> Result<(), PlayerError> {
        let Some(channel) = self.connected else {
            return Ok(());
        };
        let now = self.now();
        let silent = self
            .state
            .as_ref()
            .and_then(|s| s.queue.now_playing())
            .is_none_or(|np| np.paused);
        let alone = self.deps.presence.listeners(self.guild, channel).is_empty();
        if !(alone || silent) {
            self.idle_since_ms = None;
            return Ok(());
        }
        let since = *self.idle_since_ms.get_or_insert(now);
        let idle_for = Duration::from_millis(now.saturating_sub(since));
        if idle_for < self.deps.idle_leave {
            return Ok(());
        }
        self.update(|st| {
            st.queue.stop();
            st.marks.new_play();
            st.voice_channel_id = None;
            Ok(())
        })
        .await?;
        if let Some(state) = self.state.clone() {
            self.sync(&state).await;
            let why = if alone {
                "nobody was listening"
            } else {
                "nothing was playing"
            };
            let mins = self.deps.idle_leave.as_secs().div_ceil(60);
            self.say(
                &state,
                &format!("👋 Left <#{channel}>: {why} for {mins} min. The queue is cleared."),
            )
            .await;
        }
        self.idle_since_ms = None;
        Ok(())
    }

    async fn on_resume(&mut self, freeze_at_ms: Option<u64>) -> Result<(), PlayerError> {
        let now = self.now();
        self.update(|st| {
            let Some(np) = st.queue.now_playing() else {
                return Ok(());
            };
            if st.marks.suspended {
                // Paused by our own shutdown: the position was frozen then.
                st.marks.suspended = false;
                st.queue.resume(now).ok();
            } else if let Some(at) = freeze_at_ms.filter(|_| !np.paused) {
                // A crash: the old worker played until about its last heartbeat.
                let pos = np.position_ms(at);
                st.queue.seek(pos, now).ok();
            }
            Ok(())
        })
        .await?;
        if let Some(state) = self.state.clone() {
            tracing::info!(guild = %self.guild, "resuming playback");
            self.sync(&state).await;
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result<(), PlayerError> {
        let now = self.now();
        let playing = self.current.is_some();
        if playing {
            self.update(|st| {
                if st.queue.pause(now).is_ok() {
                    st.marks.suspended = true;
                }
                Ok(())
            })
            .await?;
        }
        self.leave_voice().await;
        Ok(())
    }
}
