//! A guild's saved playlists: a name, who saved it, and its tracks. Kept without an expiry
//! (DynamoDB `GUILD#<id>` / `PLAYLIST#<key>`, SQLite's `saved_playlists`).
//!
//! Names are matched without regard to case or repeated spaces, so "Friday Mix" and
//! "friday  mix" are one playlist; the name is shown as it was first typed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{GuildId, UserId};
use super::queue::QUEUE_CAP;
use super::track::Track;

/// Longest name, in characters: it fits a select option and a sort key with room to spare.
pub const PLAYLIST_NAME_MAX: usize = 50;
/// Most playlists one guild keeps: one page of a select menu.
pub const PLAYLISTS_MAX: usize = 25;
/// Most tracks one playlist keeps: a full queue.
pub const PLAYLIST_TRACKS_MAX: usize = QUEUE_CAP;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaylistError {
    #[error("a playlist name is 1 to {PLAYLIST_NAME_MAX} characters, with no line breaks")]
    BadName,
    #[error("there is nothing to save: the queue is empty")]
    Empty,
    #[error("a playlist keeps at most {PLAYLIST_TRACKS_MAX} tracks")]
    TooLong,
}

/// A playlist's name as typed (trimmed, inner spaces collapsed), and the key it is found by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlaylistName {
    shown: String,
    key: String,
}

impl PlaylistName {
    pub fn parse(input: &str) -> Result<Self, PlaylistError> {
        if input.chars().any(char::is_control) {
            return Err(PlaylistError::BadName);
        }
        let shown = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = shown.chars().count();
        if len == 0 || len > PLAYLIST_NAME_MAX {
            return Err(PlaylistError::BadName);
        }
        let key = shown.to_lowercase();
        Ok(Self { shown, key })
    }

    /// The name as people see it.
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// What the stores key the playlist by: the name in lower case.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for PlaylistName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl TryFrom<String> for PlaylistName {
    type Error = PlaylistError;
    fn try_from(value: String) -> Result<Self, PlaylistError> {
        Self::parse(&value)
    }
}

impl From<PlaylistName> for String {
    fn from(name: PlaylistName) -> String {
        name.shown
    }
}

/// One saved playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlaylist {
    pub guild_id: GuildId,
    pub name: PlaylistName,
    /// Who saved it last: they may save over it or delete it; anyone else needs to be a DJ.
    pub owner: UserId,
    pub saved_at_ms: u64,
    tracks: Vec<Track>,
}

impl SavedPlaylist {
    pub fn new(
        guild_id: GuildId,
        name: PlaylistName,
        owner: UserId,
        saved_at_ms: u64,
        tracks: Vec<Track>,
    ) -> Result<Self, PlaylistError> {
        if tracks.is_empty() {
            return Err(PlaylistError::Empty);
        }
        if tracks.len() > PLAYLIST_TRACKS_MAX {
            return Err(PlaylistError::TooLong);
        }
        Ok(Self {
            guild_id,
            name,
            owner,
            saved_at_ms,
            tracks,
        })
    }

    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The tracks as `requester` queues them: the loader asked for each, so the loader may
    /// skip each without a vote.
    pub fn tracks_for(&self, requester: UserId) -> Vec<Track> {
        self.tracks
            .iter()
            .cloned()
            .map(|mut t| {
                t.requester = requester;
                t
            })
            .collect()
    }

    pub fn summary(&self) -> PlaylistSummary {
        PlaylistSummary {
            name: self.name.clone(),
            owner: self.owner,
            saved_at_ms: self.saved_at_ms,
            track_count: self.tracks.len(),
            duration_ms: self.tracks.iter().filter_map(|t| t.duration_ms).sum(),
        }
    }

    /// Whether `user` may save over or delete this playlist: its owner, or a DJ.
    pub fn may_change(&self, user: UserId, is_dj: bool) -> bool {
        is_dj || self.owner == user
    }
}

/// A playlist without its tracks, for listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistSummary {
    pub name: PlaylistName,
    pub owner: UserId,
    pub saved_at_ms: u64,
    pub track_count: usize,
    /// The tracks of known length, added up.
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Platform, TrackKey};

    fn track(n: u32) -> Track {
        Track::new(
            TrackKey::new(Platform::Youtube, &format!("v{n}")).unwrap(),
            &format!("Song {n}"),
            "https://youtu.be/x",
            UserId::new(5).unwrap(),
        )
        .unwrap()
        .with_duration_ms(1_000)
    }

    #[test]
    fn names_match_without_case_or_extra_spaces() {
        let a = PlaylistName::parse("  Friday   Mix ").unwrap();
        let b = PlaylistName::parse("friday mix").unwrap();
        assert_eq!(a.as_str(), "Friday Mix");
        assert_eq!(a.key(), b.key());
        assert_eq!(PlaylistName::parse("   "), Err(PlaylistError::BadName));
        assert_eq!(PlaylistName::parse("a\nb"), Err(PlaylistError::BadName));
        assert!(PlaylistName::parse(&"é".repeat(PLAYLIST_NAME_MAX)).is_ok());
        assert_eq!(
            PlaylistName::parse(&"é".repeat(PLAYLIST_NAME_MAX + 1)),
            Err(PlaylistError::BadName)
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"Friday Mix\"");
        assert_eq!(serde_json::from_str::<PlaylistName>(&json).unwrap(), a);
        assert!(serde_json::from_str::<PlaylistName>("\"\"").is_err());
    }

    #[test]
    fn a_playlist_holds_one_to_a_queue_of_tracks() {
        let g = GuildId::new(1).unwrap();
        let u = UserId::new(2).unwrap();
        let name = PlaylistName::parse("x").unwrap();
        let new = |n: u32| SavedPlaylist::new(g, name.clone(), u, 0, (0..n).map(track).collect());
        assert_eq!(new(0), Err(PlaylistError::Empty));
        assert_eq!(new(QUEUE_CAP as u32 + 1), Err(PlaylistError::TooLong));
        let full = new(QUEUE_CAP as u32).unwrap();
        let summary = full.summary();
        assert_eq!(summary.track_count, QUEUE_CAP);
        assert_eq!(summary.duration_ms, QUEUE_CAP as u64 * 1_000);
    }

    #[test]
    fn only_the_owner_or_a_dj_may_change_it_and_the_loader_requests_each_track() {
        let g = GuildId::new(1).unwrap();
        let (owner, other) = (UserId::new(2).unwrap(), UserId::new(3).unwrap());
        let p = SavedPlaylist::new(
            g,
            PlaylistName::parse("x").unwrap(),
            owner,
            0,
            vec![track(1)],
        )
        .unwrap();
        assert!(p.may_change(owner, false));
        assert!(!p.may_change(other, false));
        assert!(p.may_change(other, true));
        assert!(p.tracks_for(other).iter().all(|t| t.requester == other));
        assert_eq!(p.tracks()[0].requester, UserId::new(5).unwrap());
    }
}
