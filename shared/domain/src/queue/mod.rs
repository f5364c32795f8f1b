//! A guild's queue: what plays now, what plays next, and the rules between them.
//!
//! Positions users see are 1-based and count only the upcoming tracks: `/remove 1` removes
//! the next track, never the one playing. Time comes in as `now_ms` so the rules stay pure.

//!
//! What `/previous` goes back to, and the rules for it, are in `played.rs`.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::track::Track;

/// The most tracks a guild may hold, the one playing included.
pub const QUEUE_CAP: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is full ({cap} tracks); remove some or /clear first")]
    Full { cap: usize },
    #[error("there is no track at position {position}; the queue has {len} upcoming")]
    NoSuchPosition { position: usize, len: usize },
    #[error("nothing is playing")]
    NothingPlaying,
    #[error("playback is already paused")]
    AlreadyPaused,
    #[error("playback is not paused")]
    NotPaused,
    #[error("can't seek to {requested_ms} ms; the track is {duration_ms} ms long")]
    SeekBeyondEnd { requested_ms: u64, duration_ms: u64 },
    #[error("volume must be between 0 and {max}%, got {got}%")]
    VolumeOutOfRange { got: u32, max: u16 },
    #[error("nothing has played before this yet")]
    NothingBefore,
}

/// What happens when a track ends on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoopMode {
    #[default]
    Off,
    /// Replay the current track.
    Track,
    /// Send each finished track to the back of the queue.
    Queue,
}

impl LoopMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LoopMode::Off => "off",
            LoopMode::Track => "track",
            LoopMode::Queue => "queue",
        }
    }

    /// The next mode in the order a loop button cycles: off, track, queue.
    pub fn next(self) -> Self {
        match self {
            LoopMode::Off => LoopMode::Track,
            LoopMode::Track => LoopMode::Queue,
            LoopMode::Queue => LoopMode::Off,
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [LoopMode::Off, LoopMode::Track, LoopMode::Queue]
            .into_iter()
            .find(|m| m.as_str() == input)
    }
}

/// Where `add` puts a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    #[default]
    End,
    Next,
}

/// Playback volume in percent, 0–200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u16")]
pub struct Volume(u16);

impl Volume {
    pub const MAX: u16 = 200;

    pub fn parse(percent: u32) -> Result<Self, QueueError> {
        u16::try_from(percent)
            .ok()
            .filter(|p| *p <= Self::MAX)
            .map(Self)
            .ok_or(QueueError::VolumeOutOfRange {
                got: percent,
                max: Self::MAX,
            })
    }

    pub fn percent(self) -> u16 {
        self.0
    }

    /// The linear gain a player applies: 100% is 1.0.
    pub fn gain(self) -> f32 {
        f32::from(self.0) / 100.0
    }
}

impl Default for Volume {
    fn default() -> Self {
        Self(100)
    }
}

impl TryFrom<u32> for Volume {
    type Error = QueueError;
    fn try_from(value: u32) -> Result<Self, QueueError> {
        Self::parse(value)
    }
}

impl From<Volume> for u16 {
    fn from(v: Volume) -> u16 {
        v.0
    }
}

/// The track playing now and where in it we are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowPlaying {
    pub track: Track,
    /// When playback last (re)started from `offset_ms`.
    pub started_at_ms: u64,
    /// Position at `started_at_ms`; while paused, the position itself.
    pub offset_ms: u64,
    pub paused: bool,
}

impl NowPlaying {
    fn start(track: Track, now_ms: u64) -> Self {
        Self {
            track,
            started_at_ms: now_ms,
            offset_ms: 0,
            paused: false,
        }
    }

    /// Position in the track at `now_ms`, never past its known end.
    pub fn position_ms(&self, now_ms: u64) -> u64 {
        let pos = if self.paused {
            self.offset_ms
        } else {
            self.offset_ms
                .saturating_add(now_ms.saturating_sub(self.started_at_ms))
        };
        self.track.duration_ms.map_or(pos, |d| pos.min(d))
    }
}

/// What `skip` or `advance` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The track that stopped playing.
    pub finished: Track,
    /// Whether something plays now.
    pub playing: bool,
}

/// The outcome of adding several tracks at once (a playlist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// 1-based position of the first added track among the upcoming ones.
    pub first_position: usize,
    pub added: usize,
    /// Tracks left out because the queue hit its cap.
    pub dropped: usize,
}

/// One guild's playback queue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GuildQueue {
    #[serde(default)]
    upcoming: Vec<Track>,
    #[serde(default)]
    now_playing: Option<NowPlaying>,
    #[serde(default, rename = "loop")]
    loop_mode: LoopMode,
    #[serde(default)]
    volume: Volume,
    /// Tracks that stopped playing, oldest first, at most [`PLAYED_CAP`].
    #[serde(default)]
    played: Vec<Track>,
}

impl GuildQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a queue from stored parts, refusing one over the cap.
    pub fn from_parts(
        upcoming: Vec<Track>,
        now_playing: Option<NowPlaying>,
        loop_mode: LoopMode,
        volume: Volume,
    ) -> Result<Self, QueueError> {
        let queue = Self {
            upcoming,
            now_playing,
            loop_mode,
            volume,
            played: Vec::new(),
        };
        if queue.len() > QUEUE_CAP {
            return Err(QueueError::Full { cap: QUEUE_CAP });
        }
        Ok(queue)
    }

    /// Every track held, the one playing included.
    pub fn len(&self) -> usize {
        self.upcoming.len() + usize::from(self.now_playing.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn upcoming(&self) -> &[Track] {
        &self.upcoming
    }

    pub fn now_playing(&self) -> Option<&NowPlaying> {
        self.now_playing.as_ref()
    }

    pub fn loop_mode(&self) -> LoopMode {
        self.loop_mode
    }

    pub fn volume(&self) -> Volume {
        self.volume
    }

    /// Upcoming tracks on a 1-based page, with the page count (at least 1).
    pub fn page(&self, page: usize, per_page: usize) -> (&[Track], usize) {
        let per_page = per_page.max(1);
        let pages = self.upcoming.len().div_ceil(per_page).max(1);
        let start = page.saturating_sub(1).saturating_mul(per_page);
        if start >= self.upcoming.len() {
            return (&[], pages);
        }
        let end = (start + per_page).min(self.upcoming.len());
        (&self.upcoming[start..end], pages)
    }

    /// Adds one track; returns its 1-based position among the upcoming ones.
    pub fn add(&mut self, track: Track, at: Position) -> Result<usize, QueueError> {
        if self.len() >= QUEUE_CAP {
            return Err(QueueError::Full { cap: QUEUE_CAP });
        }
        Ok(match at {
            Position::End => {
                self.upcoming.push(track);
                self.upcoming.len()
            }
            Position::Next => {
                self.upcoming.insert(0, track);
                1
            }
        })
    }

    /// Adds as many of `tracks` as fit, keeping their order. Fails only if none fit.
    pub fn add_many(&mut self, tracks: Vec<Track>, at: Position) -> Result<Added, QueueError> {
        let room = QUEUE_CAP.saturating_sub(self.len());
        if room == 0 && !tracks.is_empty() {
            return Err(QueueError::Full { cap: QUEUE_CAP });
        }
        let dropped = tracks.len().saturating_sub(room);
        let added = tracks.len() - dropped;
        let first_position = match at {
            Position::End => self.upcoming.len() + 1,
            Position::Next => 1,
        };
        let insert_at = first_position - 1;
        self.upcoming
            .splice(insert_at..insert_at, tracks.into_iter().take(added));
        Ok(Added {
            first_position,
            added,
            dropped,
        })
    }

    /// Removes the upcoming track at 1-based `position`.
    pub fn remove(&mut self, position: usize) -> Result<Track, QueueError> {
        let index = self.index(position)?;
        Ok(self.upcoming.remove(index))
    }

    /// Moves the upcoming track at `from` so that it ends up at `to` (both 1-based).
    pub fn move_track(&mut self, from: usize, to: usize) -> Result<(), QueueError> {
        let from = self.index(from)?;
        let to = self.index(to)?;
        let track = self.upcoming.remove(from);
        self.upcoming.insert(to, track);
        Ok(())
    }

    fn index(&self, position: usize) -> Result<usize, QueueError> {
        if position == 0 || position > self.upcoming.len() {
            return Err(QueueError::NoSuchPosition {
                position,
                len: self.upcoming.len(),
            });
        }
        Ok(position - 1)
    }

    /// Shuffles the upcoming tracks; the one playing stays where it is.
    pub fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.upcoming.shuffle(rng);
    }

    /// Empties the upcoming tracks and returns how many there were. The current track plays on.
    pub fn clear(&mut self) -> usize {
        let n = self.upcoming.len();
        self.upcoming.clear();
        n
    }

    /// Stops playback and empties the queue; returns how many tracks were dropped.
    pub fn stop(&mut self) -> usize {
        let n = self.len();
        self.upcoming.clear();
        if let Some(np) = self.now_playing.take() {
            self.remember(np.track);
        }
        n
    }

    /// Starts the next track if nothing is playing. Returns whether something plays now.
    pub fn start(&mut self, now_ms: u64) -> bool {
        if self.now_playing.is_none() && !self.upcoming.is_empty() {
            let track = self.upcoming.remove(0);
            self.now_playing = Some(NowPlaying::start(track, now_ms));
        }
        self.now_playing.is_some()
    }

    /// The user skipped. Track loop does not hold a skipped track; queue loop still keeps it.
    pub fn skip(&mut self, now_ms: u64) -> Result<Transition, QueueError> {
        let current = self.now_playing.take().ok_or(QueueError::NothingPlaying)?;
        if self.loop_mode == LoopMode::Queue {
            self.upcoming.push(current.track.clone());
        }
        Ok(self.next(current.track, now_ms))
    }

    /// The current track ended on its own; follow the loop mode.
    pub fn advance(&mut self, now_ms: u64) -> Result<Transition, QueueError> {
        let current = self.now_playing.take().ok_or(QueueError::NothingPlaying)?;
        match self.loop_mode {
            LoopMode::Track => {
                self.now_playing = Some(NowPlaying::start(current.track.clone(), now_ms));
                return Ok(Transition {
                    finished: current.track,
                    playing: true,
                });
            }
            LoopMode::Queue => self.upcoming.push(current.track.clone()),
            LoopMode::Off => {}
        }
        Ok(self.next(current.track, now_ms))
    }

    fn next(&mut self, finished: Track, now_ms: u64) -> Transition {
        self.remember(finished.clone());
        let playing = self.start(now_ms);
        Transition { finished, playing }
    }

    pub fn seek(&mut self, offset_ms: u64, now_ms: u64) -> Result<(), QueueError> {
        let np = self
            .now_playing
            .as_mut()
            .ok_or(QueueError::NothingPlaying)?;
        if let Some(duration_ms) = np.track.duration_ms {
            if offset_ms > duration_ms {
                return Err(QueueError::SeekBeyondEnd {
                    requested_ms: offset_ms,
                    duration_ms,
                });
            }
        }
        np.offset_ms = offset_ms;
        np.started_at_ms = now_ms;
        Ok(())
    }

    pub fn pause(&mut self, now_ms: u64) -> Result<(), QueueError> {
        let np = self
            .now_playing
            .as_mut()
            .ok_or(QueueError::NothingPlaying)?;
        if np.paused {
            return Err(QueueError::AlreadyPaused);
        }
        np.offset_ms = np.position_ms(now_ms);
        np.paused = true;
        Ok(())
    }

    pub fn resume(&mut self, now_ms: u64) -> Result<(), QueueError> {
        let np = self
            .now_playing
            .as_mut()
            .ok_or(QueueError::NothingPlaying)?;
        if !np.paused {
            return Err(QueueError::NotPaused);
        }
        np.started_at_ms = now_ms;
        np.paused = false;
        Ok(())
    }

    pub fn set_volume(&mut self, volume: Volume) {
        self.volume = volume;
    }

    pub fn set_loop(&mut self, mode: LoopMode) {
        self.loop_mode = mode;
    }
}

mod played;
pub use played::PLAYED_CAP;

#[cfg(test)]
mod tests;
