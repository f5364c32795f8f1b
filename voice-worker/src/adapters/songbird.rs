//! [`Voice`] on songbird: one `Call` per guild ([`Calls`]), joined through the guild's own
//! twilight shard. With `calls`, the only modules that touch songbird's types.
//!
//! DAVE: songbird reports a DAVE version it cannot speak as a failed connection, and nothing
//! at all when the handshake never completes (it then sends audio DAVE clients drop). The
//! vendored songbird's connect events carry the connection's DAVE state
//! (`vendor/songbird/PATCH.md`); [`SongbirdVoice::protection`] watches it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use songbird::error::{ConnectionError, JoinError};
use songbird::events::context_data::DaveStatus;
use songbird::events::{CoreEvent, Event, EventContext, EventData, EventHandler, TrackEvent};
use songbird::input::codecs::{get_codec_registry, get_probe};
use songbird::input::Input;
use songbird::tracks::{ControlError, PlayMode, TrackHandle};
use timmybot_config::VoiceBitrate;
use timmybot_domain::{ChannelId, GuildId, Track};
use timmybot_sources::Sources;

use crate::adapters::calls::Calls;
use crate::ports::{
    Armed, OnEnd, Protection, TrackControl, TrackEnd, Unencrypted, Voice, VoiceError,
};

/// What every stream sends, from `VOICE_BITRATE`.
///
/// songbird passes an Opus source through untouched when it is the only track playing, at
/// volume exactly 1.0: a YouTube stream then leaves at its own 130–160 kb/s, whatever the
/// call's bitrate. With a cap, every track plays at a gain a millionth below what was asked
/// (inaudible: −0.00001 dB), which is songbird's own condition for encoding it, at the cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Egress {
    pub bitrate: songbird::driver::Bitrate,
    gain_factor: f32,
}

/// The gain factor that keeps songbird from passing a track through.
const NO_PASSTHROUGH: f32 = 1.0 - 1e-6;

impl Egress {
    pub fn new(bitrate: VoiceBitrate) -> Self {
        match bitrate {
            VoiceBitrate::Capped(bps) => Self {
                bitrate: songbird::driver::Bitrate::Bits(i32::try_from(bps).unwrap_or(i32::MAX)),
                gain_factor: NO_PASSTHROUGH,
            },
            // songbird's own default for what it must encode.
            VoiceBitrate::Passthrough => Self {
                bitrate: songbird::driver::Bitrate::Bits(128_000),
                gain_factor: 1.0,
            },
        }
    }

    /// The gain a track plays at when `gain` is asked for.
    pub fn gain(self, gain: f32) -> f32 {
        gain * self.gain_factor
    }
}

/// How often [`SongbirdVoice::protection`] looks at a joining call's DAVE state: songbird
/// announces no change of it.
const DAVE_POLL: Duration = Duration::from_millis(20);

/// The DAVE state of a guild's current connection, set by its connect events.
type DaveWatch = Arc<Mutex<Option<DaveStatus>>>;

pub struct SongbirdVoice {
    calls: Arc<Calls>,
    sources: Arc<Sources>,
    egress: Egress,
    dave: Mutex<HashMap<GuildId, DaveWatch>>,
}

impl SongbirdVoice {
    pub fn new(calls: Arc<Calls>, sources: Arc<Sources>, bitrate: VoiceBitrate) -> Self {
        Self {
            calls,
            sources,
            egress: Egress::new(bitrate),
            dave: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh watch for `guild`'s next connection, so a moved call is not judged by the
    /// connection it is leaving.
    fn new_watch(&self, guild: GuildId) -> DaveWatch {
        let watch = DaveWatch::default();
        if let Ok(mut all) = self.dave.lock() {
            all.insert(guild, watch.clone());
        }
        watch
    }
}

/// What the user is told comes from here: a DAVE version songbird refused is named as such;
/// anything else keeps songbird's error as the cause, for the log.
fn join_error(e: JoinError) -> VoiceError {
    use davey::errors::InitError;
    match e {
        JoinError::Driver(ConnectionError::DaveInitializationError(
            InitError::UnsupportedProtocolVersion(v),
        )) => VoiceError::Unencrypted(Unencrypted::UnsupportedVersion(v.0.get())),
        e => VoiceError::Join(Box::new(e)),
    }
}

/// Keeps the connection's DAVE state where [`SongbirdVoice::protection`] reads it.
struct WatchDave(DaveWatch);

#[async_trait]
impl EventHandler for WatchDave {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        if let EventContext::DriverConnect(data) | EventContext::DriverReconnect(data) = ctx {
            if let Ok(mut slot) = self.0.lock() {
                *slot = Some(data.dave.clone());
            }
        }
        None
    }
}

#[async_trait]
impl Voice for SongbirdVoice {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), VoiceError> {
        let watch = self.new_watch(guild);
        let bitrate = self.egress.bitrate;
        // The DAVE watch goes on the call before it joins: the connect event fires as the
        // connection comes up.
        let joined = self
            .calls
            .join(guild, channel, move |c| {
                c.remove_all_global_events();
                for event in [CoreEvent::DriverConnect, CoreEvent::DriverReconnect] {
                    c.add_global_event(Event::Core(event), WatchDave(watch.clone()));
                }
                c.set_bitrate(bitrate);
            })
            .await;
        if let Err(e) = joined {
            // songbird leaves the bot in the channel on the gateway; do not sit there silent.
            if let Err(left) = self.calls.remove(guild).await {
                tracing::debug!(%guild, error = %left, "leaving after a failed join");
            }
            return Err(join_error(e));
        }
        Ok(())
    }

    async fn protection(&self, guild: GuildId, within: Duration) -> Result<Protection, VoiceError> {
        let watch = self
            .dave
            .lock()
            .ok()
            .and_then(|all| all.get(&guild).cloned())
            .ok_or(VoiceError::NotConnected)?;
        let deadline = tokio::time::Instant::now() + within;
        let mut poll = tokio::time::interval(DAVE_POLL);
        loop {
            poll.tick().await;
            let status = watch.lock().ok().and_then(|s| s.clone());
            if let Some(status) = status {
                if status.protocol_version() == 0 {
                    return Ok(Protection::TransportOnly);
                }
                if status.is_encrypting() {
                    return Ok(Protection::EndToEnd {
                        version: status.protocol_version(),
                        epoch: status.epoch().unwrap_or_default(),
                        privacy_code: status.voice_privacy_code(),
                    });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(VoiceError::Unencrypted(Unencrypted::HandshakeIncomplete));
            }
        }
    }

    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError> {
        if let Ok(mut all) = self.dave.lock() {
            all.remove(&guild);
        }
        self.calls
            .remove(guild)
            .await
            .map_err(|_| VoiceError::NotConnected)
    }

    async fn arm(
        &self,
        guild: GuildId,
        track: &Track,
        gain: f32,
        on_end: OnEnd,
    ) -> Result<Box<dyn Armed>, VoiceError> {
        let call = self.calls.get(guild).ok_or(VoiceError::NotConnected)?;
        let input = self
            .sources
            .open(track)
            .await
            .map_err(|e| VoiceError::Source(e.to_string()))?;
        arm_on(call, input, gain, on_end, self.egress).await
    }
}

/// Opens and probes `input` for `call`, off the mixer thread, so starting it costs the mixer
/// nothing.
pub async fn arm_on(
    call: Arc<tokio::sync::Mutex<songbird::Call>>,
    input: Input,
    gain: f32,
    on_end: OnEnd,
    egress: Egress,
) -> Result<Box<dyn Armed>, VoiceError> {
    let input = input
        .make_playable_async(get_codec_registry(), get_probe())
        .await
        .map_err(|e| VoiceError::Source(e.to_string()))?;
    Ok(Box::new(SongbirdArmed {
        call,
        input,
        gain,
        on_end,
        egress,
    }))
}

struct SongbirdArmed {
    call: Arc<tokio::sync::Mutex<songbird::Call>>,
    input: Input,
    gain: f32,
    on_end: OnEnd,
    egress: Egress,
}

impl Armed for SongbirdArmed {
    fn start(self: Box<Self>, at: Duration, paused: bool) -> Arc<dyn TrackControl> {
        let SongbirdArmed {
            call,
            input,
            gain,
            on_end,
            egress,
        } = *self;
        let mut track = songbird::tracks::Track::new(input).volume(egress.gain(gain));
        // Either event ends the track; `Ended` fires the callback only once. Registered
        // before the track exists, so even an instant end is seen.
        let once = Ended(Arc::new(Mutex::new(Some(on_end))));
        track.events.add_event(
            EventData::new(Event::Track(TrackEvent::End), once.clone()),
            Duration::ZERO,
        );
        track.events.add_event(
            EventData::new(Event::Track(TrackEvent::Error), once),
            Duration::ZERO,
        );
        // A seek must land before the first frame, so start paused and play after it.
        let play_after_seek = !at.is_zero() && !paused;
        if paused || play_after_seek {
            track = track.pause();
        }
        let control = Arc::new(Control::<TrackHandle>::new(egress));
        if !at.is_zero() {
            control.seek(at);
        }
        if play_after_seek {
            control.play();
        }
        // The call's lock is held only for moments (joins, gateway events); waiting on it
        // here would block the end handler, so take it if free, or add the track from a
        // task. Commands given meanwhile wait in the control until the handle exists.
        let pending = match call.try_lock() {
            Ok(mut c) => {
                control.fulfil(c.play(track));
                None
            }
            Err(_) => Some(track),
        };
        if let Some(track) = pending {
            let control = Arc::clone(&control);
            tokio::spawn(async move {
                let handle = call.lock().await.play(track);
                control.fulfil(handle);
            });
        }
        control
    }
}

#[derive(Clone)]
struct Ended(Arc<Mutex<Option<OnEnd>>>);

#[async_trait]
impl EventHandler for Ended {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        let end = match ctx {
            EventContext::Track([(state, _), ..]) => match &state.playing {
                PlayMode::Errored(e) => TrackEnd::Failed(e.to_string()),
                _ => TrackEnd::Finished,
            },
            _ => TrackEnd::Finished,
        };
        if let Some(f) = self.0.lock().ok().and_then(|mut f| f.take()) {
            f(end);
        }
        None
    }
}

/// A command for a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmd {
    Play,
    Pause,
    Stop,
    Volume(f32),
    Seek(Duration),
}

/// What carries out a [`Cmd`]: songbird's `TrackHandle`, or a test's stand-in.
pub trait Handle: Send + 'static {
    fn apply(&self, cmd: Cmd) -> Result<(), ControlError>;
}

impl Handle for TrackHandle {
    fn apply(&self, cmd: Cmd) -> Result<(), ControlError> {
        match cmd {
            Cmd::Play => self.play(),
            Cmd::Pause => self.pause(),
            Cmd::Stop => self.stop(),
            Cmd::Volume(gain) => self.set_volume(gain),
            // A seek answers later, and waiting would block; only a track that is already
            // gone is an error here.
            Cmd::Seek(to) => match self.seek(to).is_hung_up() {
                true => Err(ControlError::Finished),
                false => Ok(()),
            },
        }
    }
}

enum Slot<H> {
    /// Not in the call yet: the commands given so far, in order.
    Pending(Vec<Cmd>),
    Ready(H),
}

/// A started track. Until it is in the call (a contended call lock adds it from a task), its
/// commands are kept, and they are applied in order once it is: a `/pause` in that window
/// pauses it, rather than leaving the store saying paused while the audio plays on.
pub struct Control<H> {
    slot: Mutex<Slot<H>>,
    egress: Egress,
}

impl<H> Control<H> {
    pub fn new(egress: Egress) -> Self {
        Self {
            slot: Mutex::new(Slot::Pending(Vec::new())),
            egress,
        }
    }
}

impl<H: Handle> Control<H> {
    /// The track is in the call: apply what was asked meanwhile.
    pub fn fulfil(&self, handle: H) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Slot::Pending(cmds) = &mut *slot {
            for cmd in cmds.drain(..) {
                run(&handle, cmd);
            }
        }
        *slot = Slot::Ready(handle);
    }

    pub fn command(&self, cmd: Cmd) {
        let cmd = match cmd {
            Cmd::Volume(gain) => Cmd::Volume(self.egress.gain(gain)),
            other => other,
        };
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *slot {
            Slot::Pending(cmds) => cmds.push(cmd),
            Slot::Ready(handle) => run(handle, cmd),
        }
    }
}

fn run<H: Handle>(handle: &H, cmd: Cmd) {
    match handle.apply(cmd) {
        Ok(()) => {}
        // A track that already ended refuses commands; there is nothing left to control.
        Err(ControlError::Finished) => {
            tracing::debug!(?cmd, "a command for a track that has ended")
        }
        Err(e) => tracing::warn!(?cmd, error = %e, "songbird refused a track command"),
    }
}

impl<H: Handle> TrackControl for Control<H> {
    fn play(&self) {
        self.command(Cmd::Play);
    }
    fn pause(&self) {
        self.command(Cmd::Pause);
    }
    fn stop(&self) {
        self.command(Cmd::Stop);
    }
    fn set_volume(&self, gain: f32) {
        self.command(Cmd::Volume(gain));
    }
    fn seek(&self, to: Duration) {
        self.command(Cmd::Seek(to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Clone)]
    struct Recorder(Arc<Mutex<Vec<Cmd>>>);

    impl Handle for Recorder {
        fn apply(&self, cmd: Cmd) -> Result<(), ControlError> {
            self.0.lock().unwrap().push(cmd);
            Ok(())
        }
    }

    #[test]
    fn commands_before_the_handle_are_applied_in_order_when_it_comes() {
        let control = Control::<Recorder>::new(Egress::new(VoiceBitrate::Passthrough));
        control.pause();
        control.set_volume(0.5);
        control.seek(Duration::from_secs(3));
        let handle = Recorder::default();
        control.fulfil(handle.clone());
        control.play();
        assert_eq!(
            *handle.0.lock().unwrap(),
            [
                Cmd::Pause,
                Cmd::Volume(0.5),
                Cmd::Seek(Duration::from_secs(3)),
                Cmd::Play
            ]
        );
    }
}
