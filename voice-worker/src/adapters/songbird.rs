//! [`Voice`] on songbird: one `Call` per guild, joined through the twilight gateway.

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use songbird::events::{Event, EventContext, EventData, EventHandler, TrackEvent};
use songbird::input::codecs::{get_codec_registry, get_probe};
use songbird::input::Input;
use songbird::tracks::{PlayMode, Track, TrackHandle};
use songbird::Songbird;
use timmybot_shared::domain::{ChannelId, GuildId};

use crate::ports::{Armed, OnEnd, TrackControl, TrackEnd, Voice, VoiceError};

/// Discord's default voice-channel bitrate. More is wasted on most channels, and audio
/// egress is the worker's largest cost (README "Deploy").
pub const BITRATE: songbird::driver::Bitrate = songbird::driver::Bitrate::Bits(64_000);

pub struct SongbirdVoice {
    manager: Arc<Songbird>,
}

impl SongbirdVoice {
    pub fn new(manager: Arc<Songbird>) -> Self {
        Self { manager }
    }
}

fn gid(g: GuildId) -> Result<songbird::id::GuildId, VoiceError> {
    NonZeroU64::new(g.get())
        .map(songbird::id::GuildId::from)
        .ok_or(VoiceError::NotConnected)
}

#[async_trait]
impl Voice for SongbirdVoice {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), VoiceError> {
        let ch = NonZeroU64::new(channel.get())
            .map(songbird::id::ChannelId::from)
            .ok_or_else(|| VoiceError::Join("channel id 0".into()))?;
        let call = self
            .manager
            .join(gid(guild)?, ch)
            .await
            .map_err(|e| VoiceError::Join(e.to_string()))?;
        call.lock().await.set_bitrate(BITRATE);
        Ok(())
    }

    async fn leave(&self, guild: GuildId) -> Result<(), VoiceError> {
        self.manager
            .remove(gid(guild)?)
            .await
            .map_err(|_| VoiceError::NotConnected)
    }

    async fn arm(
        &self,
        guild: GuildId,
        input: Input,
        gain: f32,
        on_end: OnEnd,
    ) -> Result<Box<dyn Armed>, VoiceError> {
        let call = self
            .manager
            .get(gid(guild)?)
            .ok_or(VoiceError::NotConnected)?;
        // Open and probe here, off the mixer thread, so starting costs the mixer nothing.
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
        let mut track = Track::new(input).volume(gain);
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
        let control = Arc::new(Control(Mutex::new(None)));
        let finish = {
            let control = Arc::clone(&control);
            move |handle: TrackHandle| {
                if !at.is_zero() {
                    let _ = handle.seek(at);
                }
                if play_after_seek {
                    let _ = handle.play();
                }
                if let Ok(mut slot) = control.0.lock() {
                    *slot = Some(handle);
                }
            }
        };
        // The call's lock is held only for moments (joins, gateway events); waiting on it
        // here would block the end handler, so take it if free, or add the track from a task.
        let pending = match call.try_lock() {
            Ok(mut c) => {
                (finish.clone())(c.play(track));
                None
            }
            Err(_) => Some(track),
        };
        if let Some(track) = pending {
            tokio::spawn(async move {
                let handle = call.lock().await.play(track);
                finish(handle);
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

/// A started track; empty for the moments until a contended call lock is taken.
struct Control(Mutex<Option<TrackHandle>>);

impl Control {
    fn with(&self, f: impl FnOnce(&TrackHandle)) {
        if let Some(h) = self.0.lock().ok().as_ref().and_then(|h| h.as_ref()) {
            f(h);
        }
    }
}

/// A track that already ended refuses commands; there is nothing left to control.
impl TrackControl for Control {
    fn play(&self) {
        self.with(|h| drop(h.play()));
    }
    fn pause(&self) {
        self.with(|h| drop(h.pause()));
    }
    fn stop(&self) {
        self.with(|h| drop(h.stop()));
    }
    fn set_volume(&self, gain: f32) {
        self.with(|h| drop(h.set_volume(gain)));
    }
    fn seek(&self, to: Duration) {
        self.with(|h| drop(h.seek(to)));
    }
}
