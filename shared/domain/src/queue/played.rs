//! What `/previous` goes back to: the last [`PLAYED_CAP`] tracks that stopped playing,
//! newest last.
//!
//! - A track enters `played` whenever it stops being the current track: it ended, was skipped,
//!   or was stopped. Track loop restarting the same track is not a stop, so under track loop
//!   `/previous` goes to the track before the looping one.
//! - `previous` plays the newest played track from the start and puts the current track (if
//!   any) back at the front of the upcoming tracks, so `/skip` after `/previous` returns to it.
//! - Going back moves a track, it never copies one. Under queue loop the finished track was
//!   also sent to the back of the queue: `previous` takes that copy out, so the loop keeps the
//!   same tracks. In a one-track queue loop the track before is the one playing: it restarts.
//! - Shuffle reorders only the upcoming tracks. `played` is what was heard, in the order it
//!   was heard, whatever the queue's order now.

use super::{GuildQueue, NowPlaying, QueueError, QUEUE_CAP};
use crate::track::Track;

/// How many finished tracks `/previous` can go back through.
pub const PLAYED_CAP: usize = 20;

impl GuildQueue {
    /// The same queue with `played` restored from storage, keeping only the newest
    /// [`PLAYED_CAP`].
    pub fn with_played(mut self, mut played: Vec<Track>) -> Self {
        let excess = played.len().saturating_sub(PLAYED_CAP);
        played.drain(..excess);
        self.played = played;
        self
    }

    /// Tracks that stopped playing, oldest first.
    pub fn played(&self) -> &[Track] {
        &self.played
    }

    pub(super) fn remember(&mut self, track: Track) {
        if self.played.len() >= PLAYED_CAP {
            self.played.remove(0);
        }
        self.played.push(track);
    }

    /// Plays the track before this one again, from its start; returns it. The current track
    /// goes back to the front of the queue. See the module's rules.
    pub fn previous(&mut self, now_ms: u64) -> Result<&Track, QueueError> {
        let back = self.played.last().ok_or(QueueError::NothingBefore)?;
        if self
            .now_playing
            .as_ref()
            .is_some_and(|np| &np.track == back)
        {
            // A one-track queue loop: the track before this one is this one.
            self.played.pop();
            let np = self
                .now_playing
                .as_mut()
                .ok_or(QueueError::NothingPlaying)?;
            *np = NowPlaying::start(np.track.clone(), now_ms);
            return Ok(&np.track);
        }
        // Queue loop sent the track to the back of the queue too: move that copy, never add a
        // second one.
        let queued = self.upcoming.iter().rposition(|t| t == back);
        if queued.is_none() && self.len() >= QUEUE_CAP {
            return Err(QueueError::Full { cap: QUEUE_CAP });
        }
        if let Some(i) = queued {
            self.upcoming.remove(i);
        }
        let track = self.played.pop().ok_or(QueueError::NothingBefore)?;
        if let Some(current) = self.now_playing.take() {
            self.upcoming.insert(0, current.track);
        }
        let np = self.now_playing.insert(NowPlaying::start(track, now_ms));
        Ok(&np.track)
    }
}
