//! [`Voice`] on songbird: one `Call` per guild, joined through the twilight gateway.

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use songbird::events::{Event, EventContext, EventHandler, TrackEvent};
use songbird::input::Input;
use songbird::tracks::{PlayMode, Track, TrackHandle};
use songbird::Songbird;
use timmybot_shared::domain::{ChannelId, GuildId};

use crate::ports::{OnEnd, TrackControl, TrackEnd, Voice, VoiceError};

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

    async fn load(
        &self,
        guild: GuildId,
        input: Input,
        at: Duration,
        gain: f32,
        on_end: OnEnd,
    ) -> Result<Arc<dyn TrackControl>, VoiceError> {
        let call = self
            .manager
            .get(gid(guild)?)
            .ok_or(VoiceError::NotConnected)?;
        let handle = call
            .lock()
            .await
            .play(Track::new(input).pause().volume(gain));
        let once = Ended(Arc::new(Mutex::new(Some(on_end))));
        // Either event ends the track; `Ended` fires the callback only once.
        let _ = handle.add_event(Event::Track(TrackEvent::End), once.clone());
        let _ = handle.add_event(Event::Track(TrackEvent::Error), once);
        if !at.is_zero() {
            let _ = handle.seek(at);
        }
        // Connect and probe now, so `play` starts on the next tick.
        let _ = handle.make_playable();
        Ok(Arc::new(Control(handle)))
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

struct Control(TrackHandle);

/// A track that already ended refuses commands; there is nothing left to control.
impl TrackControl for Control {
    fn play(&self) {
        let _ = self.0.play();
    }
    fn pause(&self) {
        let _ = self.0.pause();
    }
    fn stop(&self) {
        let _ = self.0.stop();
    }
    fn set_volume(&self, gain: f32) {
        let _ = self.0.set_volume(gain);
    }
    fn seek(&self, to: Duration) {
        let _ = self.0.seek(to);
    }
}
