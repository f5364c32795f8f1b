//! The hand-off to the next track. It is opened and probed while the current one plays, and
//! the current track's end handler adds it to the call at once, so the gap waits neither for
//! the store nor for a download.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timmybot_domain::{GuildState, Track, TrackKey};

use super::{Ended, GuildPlayer};
use crate::ports::{Armed, OnEnd, TrackControl};

/// The prepared next track serves only a play from (about) its start.
const FROM_START_MS: u64 = 1_000;

static TOKENS: AtomicU64 = AtomicU64::new(1);

/// A track in the call, and the token its end is reported with.
pub(super) struct Loaded {
    pub token: u64,
    pub ctl: Arc<dyn TrackControl>,
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
pub(super) struct Handoff {
    /// The token of the track whose end starts `next`.
    after: u64,
    next: Option<Next>,
}

impl GuildPlayer {
    /// The prepared next track, if it is `key` and is to play from the start; anything else
    /// prepared is stopped.
    pub(super) fn take_prepared(&self, key: &TrackKey, at_ms: u64, paused: bool) -> Option<Loaded> {
        let next = self.take_next()?;
        if next.key != *key || at_ms >= FROM_START_MS {
            if let Some(ctl) = next.started {
                ctl.stop();
            }
            return None;
        }
        match next {
            Next {
                token,
                started: Some(ctl),
                ..
            } => Some(Loaded { token, ctl }),
            Next {
                token,
                armed: Some(armed),
                ..
            } => Some(Loaded {
                token,
                ctl: armed.start(Duration::from_millis(at_ms), paused),
            }),
            _ => None,
        }
    }

    /// The next track, if the current one's end has already started it.
    pub(super) fn started_next(&self) -> Option<Arc<dyn TrackControl>> {
        let h = self.handoff.lock().ok()?;
        h.next.as_ref().and_then(|n| n.started.clone())
    }

    /// Prepares what plays after the current track and arms the handoff to it.
    pub(super) async fn preload(&mut self, st: &GuildState) {
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

    pub(super) fn stop_next(&self) {
        if let Some(ctl) = self.take_next().and_then(|n| n.started) {
            ctl.stop();
        }
    }

    pub(super) fn stop_all(&mut self) {
        self.stop_next();
        if let Some(p) = self.current.take() {
            p.loaded.ctl.stop();
        }
    }

    /// Opens `track` and prepares it to start; returns its token.
    async fn arm(&self, track: &Track, gain: f32) -> Result<(u64, Box<dyn Armed>), String> {
        let token = TOKENS.fetch_add(1, Ordering::Relaxed);
        let ends = self.ends.clone();
        let handoff = Arc::clone(&self.handoff);
        let on_end: OnEnd = Box::new(move |end| {
            // Start the next track first: this is the gap users hear.
            start_next_after(&handoff, token);
            // Never dropped: the player is the only receiver and lives as long as its tracks.
            let _ = ends.send(Ended { token, end });
        });
        let armed = self
            .deps
            .voice
            .arm(self.guild, track, gain, on_end)
            .await
            .map_err(|e| e.to_string())?;
        Ok((token, armed))
    }

    pub(super) async fn load(
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
}

/// The end handler's half of the hand-off: if `token`'s end is the one the next track waits
/// for, start it.
fn start_next_after(handoff: &Mutex<Handoff>, token: u64) {
    if let Ok(mut h) = handoff.lock() {
        if h.after == token {
            if let Some(next) = h.next.as_mut() {
                if let Some(armed) = next.armed.take() {
                    next.started = Some(armed.start(Duration::ZERO, false));
                }
            }
        }
    }
}
