//! One player per guild: an actor that owns the guild's call. Jobs (intents, idle ticks,
//! resume, shutdown) run one at a time, so a guild's intents apply in order while other
//! guilds run concurrently. Track ends arrive on a channel of their own that never refuses
//! one, and are taken before the next job.
//!
//! The stored state is the truth. Each job changes the state with a versioned write, then
//! [`GuildPlayer::sync`] makes the call match it.
//!
//! - [`call`]: making the call match the state: join (end-to-end encrypted), play, leave.
//! - [`handoff`]: the next track, opened while the current one plays and started by its end.
//! - [`announce`]: what the player tells people: replies, notices, the now-playing card.
//! - [`lifecycle`]: leaving an idle channel, resuming after a restart, saving on shutdown.
//! - [`queueing`]: tracks no `/play` named: autoplay's, and a saved playlist's.
//! - [`search`]: `/search`'s lookup and its menu of results.

mod announce;
mod call;
mod handoff;
mod lifecycle;
mod queueing;
mod search;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot_domain::{
    ChannelId, Clock, GuildId, GuildState, IntentKind, PlaybackIntent, RetryPolicy,
};
use timmybot_sources::Sources;
use timmybot_store::{update_guild, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::apply::{self, Effect};
use crate::ports::{Notifier, Presence, Radio, TrackEnd, Voice};
use handoff::{Handoff, Loaded};

/// Jobs waiting for one guild before senders wait. Track ends do not count: they have their
/// own channel.
pub const MAILBOX: usize = 64;
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
    /// Autoplay's choices; `None`: no autoplay.
    pub radio: Option<Arc<dyn Radio>>,
    pub retry: RetryPolicy,
    /// Leave after this long alone or silent in the channel.
    pub idle_leave: Duration,
    /// How long a join may take to become end-to-end encrypted (DAVE) when people are in the
    /// channel, before the player gives up and says so.
    pub dave_within: Duration,
    /// Guilds with a voice connection now.
    pub active: Mutex<HashSet<GuildId>>,
    /// Guilds whose track plays now (not paused).
    pub playing: Mutex<HashSet<GuildId>>,
    pub metrics: Arc<crate::metrics::WorkerMetrics>,
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
        mark(&self.active, guild, on);
    }

    fn set_playing(&self, guild: GuildId, on: bool) {
        mark(&self.playing, guild, on);
    }

    /// How many guilds play now.
    pub fn streams_playing(&self) -> usize {
        self.playing.lock().map(|s| s.len()).unwrap_or(0)
    }
}

fn mark(set: &Mutex<HashSet<GuildId>>, guild: GuildId, on: bool) {
    if let Ok(mut s) = set.lock() {
        if on {
            s.insert(guild);
        } else {
            s.remove(&guild);
        }
    }
}

pub enum Job {
    Intent {
        intent: Box<PlaybackIntent>,
        done: oneshot::Sender<Result<(), PlayerError>>,
    },
    /// Check whether to leave an idle channel; `done` says when the check is over.
    Tick { done: Option<oneshot::Sender<()>> },
    /// Start playing what the state says was playing. `freeze_at_ms`: after a crash, the
    /// last moment the old worker is known to have been playing.
    Resume {
        freeze_at_ms: Option<u64>,
        done: oneshot::Sender<()>,
    },
    /// Save the position, stop and leave.
    Shutdown { done: oneshot::Sender<()> },
}

/// A track's end, as its handler reports it: which track (its token) and how.
struct Ended {
    token: u64,
    end: TrackEnd,
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

    /// Whether the mailbox is full, so that the next [`send`](Self::send) waits.
    pub fn is_full(&self) -> bool {
        self.tx.capacity() == 0
    }
}

struct Playing {
    seq: u64,
    loaded: Loaded,
}

/// The player could not join the channel: what to tell people.
struct NotJoined(String);

pub struct GuildPlayer {
    guild: GuildId,
    deps: Arc<Deps>,
    /// Where track ends go. Unbounded: an end is sent from songbird's event task, which must
    /// not wait, and must never be dropped, or the queue would stop advancing. There is at
    /// most one end per track opened, so it stays small.
    ends: mpsc::UnboundedSender<Ended>,
    current: Option<Playing>,
    handoff: Arc<Mutex<Handoff>>,
    connected: Option<ChannelId>,
    idle_since_ms: Option<u64>,
    /// The last state read or written.
    state: Option<GuildState>,
}

impl GuildPlayer {
    /// Starts the actor; it runs until every handle is dropped.
    pub fn spawn(guild: GuildId, deps: Arc<Deps>) -> PlayerHandle {
        let (tx, rx) = mpsc::channel(MAILBOX);
        let (ends, ends_rx) = mpsc::unbounded_channel();
        let player = GuildPlayer {
            guild,
            deps,
            ends,
            current: None,
            handoff: Arc::new(Mutex::new(Handoff::default())),
            connected: None,
            idle_since_ms: None,
            state: None,
        };
        tokio::spawn(player.run(rx, ends_rx));
        PlayerHandle { tx }
    }

    async fn run(
        mut self,
        mut jobs: mpsc::Receiver<Job>,
        mut ends: mpsc::UnboundedReceiver<Ended>,
    ) {
        loop {
            tokio::select! {
                // A track's end first: the jobs behind it see the queue advanced.
                biased;
                Some(Ended { token, end }) = ends.recv() => {
                    if let Err(e) = self.on_ended(token, end).await {
                        tracing::warn!(guild = %self.guild, error = %e, "advancing the queue failed");
                    }
                }
                job = jobs.recv() => match job {
                    Some(job) => self.on_job(job).await,
                    None => break,
                },
            }
        }
    }

    async fn on_job(&mut self, job: Job) {
        match job {
            Job::Intent { intent, done } => {
                let result = self.on_intent(&intent).await;
                if let Err(e) = &result {
                    tracing::warn!(guild = %self.guild, intent = %intent.id, error = %e, "intent not applied; it will be delivered again");
                }
                let _ = done.send(result);
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
        d.metrics.attempts(updated.attempts);
        self.state = Some(updated.record);
        Ok(updated.output)
    }

    async fn on_intent(&mut self, intent: &PlaybackIntent) -> Result<(), PlayerError> {
        // A search changes no state: a redelivery just searches again.
        if let IntentKind::Search {
            query,
            requester_id,
        } = &intent.kind
        {
            self.search(intent.reply.as_ref(), query, *requester_id)
                .await;
            return Ok(());
        }
        let id = intent.id.as_str().to_owned();
        let stored = self.deps.store.load_guild(self.guild).await?.value;
        if stored.marks.has_applied(&id) {
            // Redelivered: the state already holds its effect. Only make sure the call agrees.
            tracing::info!(guild = %self.guild, intent = %id, "already applied");
            self.state = Some(stored.clone());
            self.sync_or_say(&stored).await;
            return Ok(());
        }
        // A library list's skipped entries are told in the reply, after what was queued.
        let mut note = None;
        let mut resolved = match &intent.kind {
            IntentKind::Play {
                query,
                requester_id,
                ..
            } => Some(
                self.deps
                    .sources
                    .resolve_noted(query, *requester_id)
                    .await
                    .map(|r| {
                        note = r.note;
                        r.tracks
                    })
                    .map_err(|e| e.to_string()),
            ),
            IntentKind::LoadPlaylist {
                name,
                shuffle,
                requester_id,
                ..
            } => Some(self.saved_playlist(name, *shuffle, *requester_id).await?),
            _ => None,
        };
        let listeners = stored
            .voice_channel_id
            .map(|c| self.deps.presence.listeners(self.guild, c))
            .unwrap_or_default();
        let now = self.now();
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
            let mut not_joined = None;
            match out.effect {
                Effect::Sync => not_joined = self.sync(&state).await.err(),
                Effect::Pause => {
                    self.each_track(|c| c.pause());
                    self.deps.set_playing(self.guild, false);
                }
                Effect::Resume => {
                    self.each_current(|c| c.play());
                    self.deps.set_playing(self.guild, self.current.is_some());
                }
                Effect::Seek(ms) => self.each_current(|c| c.seek(Duration::from_millis(ms))),
                Effect::Volume(gain) => self.each_track(|c| c.set_volume(gain)),
                Effect::None => {}
            }
            if let Some(NotJoined(why)) = not_joined {
                // Whoever asked hears why in their reply, which the channel sees too, rather
                // than "now playing" over a silent call.
                match &intent.reply {
                    Some(reply) => self.edit_reply(reply, &why).await,
                    None => self.say(&state, &why).await,
                }
                return Ok(());
            }
            if out.effect != Effect::None {
                self.show_now_playing(&state).await;
            }
            if let (Some(mut text), Some(reply)) = (out.reply, &intent.reply) {
                if let (Some(note), true) = (&note, out.effect != Effect::None) {
                    text.push_str(&format!(" ({note})"));
                }
                self.edit_reply(reply, &text).await;
            }
        }
        Ok(())
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
        let Some(mut state) = self.state.clone() else {
            return Ok(());
        };
        if let Some(track) = &finished {
            match &end {
                TrackEnd::Finished => self.record_history(track, now).await,
                TrackEnd::Failed(why) => {
                    self.deps.metrics.track_failed(track.key.platform());
                    self.say(&state, &announce::could_not_play(track, why))
                        .await;
                }
            }
            // The queue ran dry: autoplay may carry on.
            if state.queue.now_playing().is_none() && state.voice_channel_id.is_some() {
                if let Some(next) = self.autoplay(&state).await? {
                    state = next;
                }
            }
        }
        self.sync_or_say(&state).await;
        self.show_now_playing(&state).await;
        Ok(())
    }

    /// A track could not even be opened: tell the channel and move on.
    async fn failed(&mut self, st: &GuildState, track: &timmybot_domain::Track, why: &str) {
        self.deps.metrics.track_failed(track.key.platform());
        self.deps.set_playing(self.guild, false);
        self.say(st, &announce::could_not_play(track, why)).await;
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
        match (advanced, self.state.clone()) {
            (Ok(true), Some(next)) => {
                let retry = next
                    .queue
                    .now_playing()
                    .is_some_and(|np| np.track.key != track.key);
                if retry {
                    Box::pin(self.sync_or_say(&next)).await;
                }
            }
            (Err(e), _) => {
                tracing::warn!(guild = %self.guild, error = %e, "skipping a failed track failed")
            }
            _ => {}
        }
    }
}
