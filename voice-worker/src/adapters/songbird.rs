//! [`Voice`] on songbird: one `Call` per guild ([`Calls`]), joined through the guild's own
//! twilight shard. With `calls`, the only modules that touch songbird's types.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use songbird::events::{Event, EventContext, EventData, EventHandler, TrackEvent};
use songbird::input::codecs::{get_codec_registry, get_probe};
use songbird::input::Input;
use songbird::tracks::{ControlError, PlayMode, TrackHandle};
use timmybot_domain::{ChannelId, GuildId, Track};
use timmybot_sources::Sources;

use crate::adapters::calls::Calls;
use crate::ports::{Armed, OnEnd, TrackControl, TrackEnd, Voice, VoiceError};

/// Discord's default voice-channel bitrate. More is wasted on most channels, and audio
/// egress is the worker's largest cost (README "Deploy").
pub const BITRATE: songbird::driver::Bitrate = songbird::driver::Bitrate::Bits(64_000);

pub struct SongbirdVoice {
    calls: Arc<Calls>,
    sources: Arc<Sources>,
}

impl SongbirdVoice {
    pub fn new(calls: Arc<Calls>, sources: Arc<Sources>) -> Self {
        Self { calls, sources }
    }
}

#[async_trait]
impl Voice for SongbirdVoice {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), VoiceError> {
        let call = self
            .calls
            .join(guild, channel)
            .await
            .map_err(|e| VoiceError::Join(Box::new(e)))?;
        call.lock().await.set_bitrate(BITRATE);
        Ok(())
    }

    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError> {
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
        arm_on(call, input, gain, on_end).await
    }
}

/// Opens and probes `input` for `call`, off the mixer thread, so starting it costs the mixer
/// nothing.
pub async fn arm_on(
    call: Arc<tokio::sync::Mutex<songbird::Call>>,
    input: Input,
    gain: f32,
    on_end: OnEnd,
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
    }))
}

struct SongbirdArmed {
    call: Arc<tokio::sync::Mutex<songbird::Call>>,
    input: Input,
    gain: f32,
    on_end: OnEnd,
}

impl Armed for SongbirdArmed {
    fn start(self: Box<Self>, at: Duration, paused: bool) -> Arc<dyn TrackControl> {
        let SongbirdArmed {
            call,
            input,
            gain,
            on_end,
        } = *self;
        let mut track = songbird::tracks::Track::new(input).volume(gain);
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
        let control = Arc::new(Control::<TrackHandle>::default());
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
pub struct Control<H>(Mutex<Slot<H>>);

impl<H> Default for Control<H> {
    fn default() -> Self {
        Self(Mutex::new(Slot::Pending(Vec::new())))
    }
}

impl<H: Handle> Control<H> {
    /// The track is in the call: apply what was asked meanwhile.
    pub fn fulfil(&self, handle: H) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Slot::Pending(cmds) = &mut *slot {
            for cmd in cmds.drain(..) {
                run(&handle, cmd);
            }
        }
        *slot = Slot::Ready(handle);
    }

    pub fn command(&self, cmd: Cmd) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
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
        let control = Control::<Recorder>::default();
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
