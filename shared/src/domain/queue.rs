//! A guild's queue: what plays now, what plays next, and the rules between them.
//!
//! Positions users see are 1-based and count only the upcoming tracks: `/remove 1` removes
//! the next track, never the one playing. Time comes in as `now_ms` so the rules stay pure.

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
        self.now_playing = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::track::{Platform, TrackKey};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn track(n: usize) -> Track {
        let key = TrackKey::new(Platform::Youtube, &format!("t{n}")).unwrap();
        Track::new(
            key,
            &format!("Track {n}"),
            &format!("ytsearch1:{n}"),
            UserId::new(1).unwrap(),
        )
        .unwrap()
        .with_duration_ms(180_000)
    }

    fn titles(q: &GuildQueue) -> Vec<String> {
        q.upcoming().iter().map(|t| t.title.clone()).collect()
    }

    fn playing(q: &GuildQueue) -> Option<String> {
        q.now_playing().map(|np| np.track.title.clone())
    }

    fn queue_of(n: usize) -> GuildQueue {
        let mut q = GuildQueue::new();
        for i in 1..=n {
            q.add(track(i), Position::End).unwrap();
        }
        q
    }

    #[test]
    fn add_at_end_and_next() {
        let mut q = queue_of(2);
        assert_eq!(q.add(track(3), Position::End).unwrap(), 3);
        assert_eq!(q.add(track(0), Position::Next).unwrap(), 1);
        assert_eq!(titles(&q), ["Track 0", "Track 1", "Track 2", "Track 3"]);
    }

    #[test]
    fn cap_counts_the_playing_track_and_fails_clearly() {
        let mut q = queue_of(QUEUE_CAP - 1);
        q.start(0);
        q.add(track(999), Position::End).unwrap();
        assert_eq!(q.len(), QUEUE_CAP);
        let err = q.add(track(1000), Position::Next).unwrap_err();
        assert_eq!(err, QueueError::Full { cap: QUEUE_CAP });
        assert!(err.to_string().contains("queue is full (500 tracks)"));
        assert_eq!(q.len(), QUEUE_CAP, "a refused add changes nothing");
    }

    #[test]
    fn add_many_fills_to_the_cap_and_reports_the_rest() {
        let mut q = queue_of(QUEUE_CAP - 2);
        let added = q
            .add_many((0..5).map(track).collect(), Position::End)
            .unwrap();
        assert_eq!(
            added,
            Added {
                first_position: QUEUE_CAP - 1,
                added: 2,
                dropped: 3
            }
        );
        assert_eq!(q.len(), QUEUE_CAP);
        assert_eq!(
            q.add_many(vec![track(9)], Position::End),
            Err(QueueError::Full { cap: QUEUE_CAP })
        );
    }

    #[test]
    fn add_many_next_keeps_playlist_order_in_front() {
        let mut q = queue_of(2);
        let added = q
            .add_many(vec![track(8), track(9)], Position::Next)
            .unwrap();
        assert_eq!(added.first_position, 1);
        assert_eq!(titles(&q), ["Track 8", "Track 9", "Track 1", "Track 2"]);
    }

    #[test]
    fn from_parts_refuses_an_over_cap_queue() {
        let tracks = (0..=QUEUE_CAP).map(track).collect();
        assert_eq!(
            GuildQueue::from_parts(tracks, None, LoopMode::Off, Volume::default()),
            Err(QueueError::Full { cap: QUEUE_CAP })
        );
    }

    #[test]
    fn remove_is_one_based_over_upcoming() {
        let mut q = queue_of(3);
        q.start(0);
        assert_eq!(q.remove(1).unwrap().title, "Track 2");
        assert_eq!(titles(&q), ["Track 3"]);
        assert_eq!(playing(&q).as_deref(), Some("Track 1"));
        assert_eq!(
            q.remove(0),
            Err(QueueError::NoSuchPosition {
                position: 0,
                len: 1
            })
        );
        assert_eq!(
            q.remove(2),
            Err(QueueError::NoSuchPosition {
                position: 2,
                len: 1
            })
        );
    }

    #[test]
    fn move_track_both_directions() {
        let mut q = queue_of(4);
        q.move_track(1, 3).unwrap();
        assert_eq!(titles(&q), ["Track 2", "Track 3", "Track 1", "Track 4"]);
        q.move_track(4, 1).unwrap();
        assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
        q.move_track(2, 2).unwrap();
        assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
        assert!(q.move_track(5, 1).is_err());
        assert!(q.move_track(1, 5).is_err());
        assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
    }

    #[test]
    fn shuffle_keeps_the_current_track_and_permutes_the_rest() {
        let mut q = queue_of(50);
        q.start(0);
        let before = titles(&q);
        q.shuffle(&mut StdRng::seed_from_u64(7));
        assert_eq!(playing(&q).as_deref(), Some("Track 1"));
        let after = titles(&q);
        assert_ne!(
            after, before,
            "50 tracks should not shuffle into the same order"
        );
        let (mut a, mut b) = (after, before);
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn clear_keeps_the_current_track_and_stop_drops_everything() {
        let mut q = queue_of(3);
        q.start(0);
        assert_eq!(q.clear(), 2);
        assert_eq!(playing(&q).as_deref(), Some("Track 1"));
        assert_eq!(q.stop(), 1);
        assert!(q.is_empty());
        assert!(q.now_playing().is_none());
    }

    #[test]
    fn start_only_when_idle() {
        let mut q = GuildQueue::new();
        assert!(!q.start(0));
        q.add(track(1), Position::End).unwrap();
        q.add(track(2), Position::End).unwrap();
        assert!(q.start(10));
        assert!(q.start(20));
        assert_eq!(playing(&q).as_deref(), Some("Track 1"));
        assert_eq!(q.now_playing().unwrap().started_at_ms, 10);
    }

    #[test]
    fn advance_with_loop_off_moves_on_then_stops() {
        let mut q = queue_of(2);
        q.start(0);
        let t = q.advance(100).unwrap();
        assert_eq!(t.finished.title, "Track 1");
        assert!(t.playing);
        assert_eq!(playing(&q).as_deref(), Some("Track 2"));
        assert_eq!(q.now_playing().unwrap().started_at_ms, 100);
        let t = q.advance(200).unwrap();
        assert!(!t.playing);
        assert!(q.is_empty());
        assert_eq!(q.advance(300), Err(QueueError::NothingPlaying));
    }

    #[test]
    fn advance_with_loop_track_replays_from_the_start() {
        let mut q = queue_of(2);
        q.set_loop(LoopMode::Track);
        q.start(0);
        q.seek(5_000, 10).unwrap();
        let t = q.advance(200_000).unwrap();
        assert_eq!(t.finished.title, "Track 1");
        let np = q.now_playing().unwrap();
        assert_eq!(np.track.title, "Track 1");
        assert_eq!((np.offset_ms, np.started_at_ms), (0, 200_000));
        assert_eq!(titles(&q), ["Track 2"]);
    }

    #[test]
    fn advance_with_loop_queue_rotates() {
        let mut q = queue_of(3);
        q.set_loop(LoopMode::Queue);
        q.start(0);
        for expected in ["Track 2", "Track 3", "Track 1", "Track 2"] {
            q.advance(0).unwrap();
            assert_eq!(playing(&q).as_deref(), Some(expected));
            assert_eq!(q.len(), 3);
        }
    }

    #[test]
    fn loop_queue_with_one_track_replays_it() {
        let mut q = queue_of(1);
        q.set_loop(LoopMode::Queue);
        q.start(0);
        assert!(q.advance(1).unwrap().playing);
        assert_eq!(playing(&q).as_deref(), Some("Track 1"));
    }

    #[test]
    fn skip_ignores_track_loop() {
        let mut q = queue_of(2);
        q.set_loop(LoopMode::Track);
        q.start(0);
        let t = q.skip(5).unwrap();
        assert_eq!(t.finished.title, "Track 1");
        assert_eq!(playing(&q).as_deref(), Some("Track 2"));
        assert!(q.upcoming().is_empty());
    }

    #[test]
    fn skip_under_queue_loop_keeps_the_track_at_the_back() {
        let mut q = queue_of(3);
        q.set_loop(LoopMode::Queue);
        q.start(0);
        q.skip(0).unwrap();
        assert_eq!(playing(&q).as_deref(), Some("Track 2"));
        assert_eq!(titles(&q), ["Track 3", "Track 1"]);
    }

    #[test]
    fn skip_with_loop_off_drops_the_track() {
        let mut q = queue_of(1);
        q.start(0);
        let t = q.skip(0).unwrap();
        assert!(!t.playing);
        assert!(q.is_empty());
        assert_eq!(q.skip(0), Err(QueueError::NothingPlaying));
    }

    #[test]
    fn position_advances_with_time_and_stops_at_the_end() {
        let mut q = queue_of(1);
        q.start(1_000);
        let np = q.now_playing().unwrap();
        assert_eq!(np.position_ms(1_000), 0);
        assert_eq!(np.position_ms(31_000), 30_000);
        assert_eq!(np.position_ms(10_000_000), 180_000);
        assert_eq!(
            np.position_ms(0),
            0,
            "a clock behind the start never underflows"
        );
    }

    #[test]
    fn seek_sets_the_position_and_checks_the_length() {
        let mut q = queue_of(1);
        assert_eq!(q.seek(1, 0), Err(QueueError::NothingPlaying));
        q.start(0);
        q.seek(60_000, 5_000).unwrap();
        assert_eq!(q.now_playing().unwrap().position_ms(6_000), 61_000);
        assert_eq!(
            q.seek(180_001, 0),
            Err(QueueError::SeekBeyondEnd {
                requested_ms: 180_001,
                duration_ms: 180_000
            })
        );
        assert_eq!(q.now_playing().unwrap().position_ms(6_000), 61_000);
    }

    #[test]
    fn seek_on_a_stream_of_unknown_length_is_allowed() {
        let key = TrackKey::new(Platform::Http, "https://radio.example/live").unwrap();
        let live = Track::new(
            key,
            "Live",
            "https://radio.example/live",
            UserId::new(1).unwrap(),
        )
        .unwrap();
        let mut q = GuildQueue::new();
        q.add(live, Position::End).unwrap();
        q.start(0);
        q.seek(10_000_000, 0).unwrap();
    }

    #[test]
    fn pause_freezes_the_position_and_resume_continues() {
        let mut q = queue_of(1);
        assert_eq!(q.pause(0), Err(QueueError::NothingPlaying));
        q.start(0);
        assert_eq!(q.resume(0), Err(QueueError::NotPaused));
        q.pause(10_000).unwrap();
        assert_eq!(q.pause(10_001), Err(QueueError::AlreadyPaused));
        let np = q.now_playing().unwrap();
        assert!(np.paused);
        assert_eq!(np.position_ms(99_000), 10_000);
        q.resume(50_000).unwrap();
        assert_eq!(q.now_playing().unwrap().position_ms(55_000), 15_000);
    }

    #[test]
    fn seek_while_paused_stays_paused_at_the_new_position() {
        let mut q = queue_of(1);
        q.start(0);
        q.pause(1_000).unwrap();
        q.seek(20_000, 2_000).unwrap();
        let np = q.now_playing().unwrap();
        assert!(np.paused);
        assert_eq!(np.position_ms(90_000), 20_000);
    }

    #[test]
    fn volume_is_bounded_0_to_200() {
        assert_eq!(Volume::parse(0).unwrap().percent(), 0);
        assert_eq!(Volume::parse(200).unwrap().percent(), 200);
        assert_eq!(
            Volume::parse(201),
            Err(QueueError::VolumeOutOfRange { got: 201, max: 200 })
        );
        assert!(Volume::parse(u32::MAX).is_err());
        assert_eq!(Volume::default().gain(), 1.0);
        let mut q = GuildQueue::new();
        q.set_volume(Volume::parse(150).unwrap());
        assert_eq!(q.volume().percent(), 150);
        assert!(serde_json::from_str::<Volume>("201").is_err());
    }

    #[test]
    fn pages_are_one_based_and_bounded() {
        let q = queue_of(25);
        let (p1, pages) = q.page(1, 10);
        assert_eq!((p1.len(), pages), (10, 3));
        assert_eq!(p1[0].title, "Track 1");
        let (p3, _) = q.page(3, 10);
        assert_eq!(p3.len(), 5);
        assert!(q.page(4, 10).0.is_empty());
        assert_eq!(q.page(0, 10).0[0].title, "Track 1");
        assert_eq!(GuildQueue::new().page(1, 10).1, 1);
    }

    #[test]
    fn serde_round_trip_keeps_everything() {
        let mut q = queue_of(3);
        q.set_loop(LoopMode::Queue);
        q.set_volume(Volume::parse(80).unwrap());
        q.start(5);
        q.pause(9).unwrap();
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains("\"loop\":\"queue\""), "{json}");
        assert_eq!(serde_json::from_str::<GuildQueue>(&json).unwrap(), q);
    }
}
