//! A reference to a list in a user's own library: what `/my-playlists` and `/liked-songs`
//! hand the worker in a play intent's query. The worker expands it with the requester's
//! token; the reference itself holds no secret.
//!
//! Written `library:<platform>:playlist:<id>` or `library:<platform>:liked`, with
//! `:shuffle` at the end to shuffle what it expands to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::track::Platform;

pub const PREFIX: &str = "library:";
/// YouTube playlist ids are ~34 characters and Spotify's 22; this leaves room and no more.
pub const LIST_ID_MAX: usize = 64;

/// One track from a user's library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryTrack {
    pub platform: Platform,
    /// YouTube video id or Spotify track id.
    pub id: String,
    pub title: String,
    pub artist: Option<String>,
    pub duration_ms: Option<u64>,
    pub isrc: Option<String>,
}

/// The tracks of an expanded playlist or liked list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expanded {
    pub tracks: Vec<LibraryTrack>,
    /// Entries that cannot be played: private, deleted, local, podcast episodes or null.
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryRefError {
    #[error("not a library reference")]
    NotLibrary,
    #[error("only YouTube and Spotify libraries can be played")]
    Platform,
    #[error("that playlist id is not valid")]
    BadId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryList {
    Playlist(String),
    Liked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRef {
    pub platform: Platform,
    pub list: LibraryList,
    pub shuffle: bool,
}

/// Both platforms' ids are URL-safe base64-ish: letters, digits, `-` and `_`.
pub fn valid_list_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= LIST_ID_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl LibraryRef {
    pub fn playlist(platform: Platform, id: &str) -> Result<Self, LibraryRefError> {
        Self::check_platform(platform)?;
        if !valid_list_id(id) {
            return Err(LibraryRefError::BadId);
        }
        Ok(Self {
            platform,
            list: LibraryList::Playlist(id.to_owned()),
            shuffle: false,
        })
    }

    pub fn liked(platform: Platform, shuffle: bool) -> Result<Self, LibraryRefError> {
        Self::check_platform(platform)?;
        Ok(Self {
            platform,
            list: LibraryList::Liked,
            shuffle,
        })
    }

    fn check_platform(platform: Platform) -> Result<(), LibraryRefError> {
        match platform {
            Platform::Youtube | Platform::Spotify => Ok(()),
            _ => Err(LibraryRefError::Platform),
        }
    }

    pub fn parse(input: &str) -> Result<Self, LibraryRefError> {
        let rest = input
            .strip_prefix(PREFIX)
            .ok_or(LibraryRefError::NotLibrary)?;
        let (rest, shuffle) = match rest.strip_suffix(":shuffle") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let mut parts = rest.splitn(3, ':');
        let platform = parts
            .next()
            .and_then(|p| Platform::parse(p).ok())
            .ok_or(LibraryRefError::Platform)?;
        let mut found = match (parts.next(), parts.next()) {
            (Some("liked"), None) => Self::liked(platform, false)?,
            (Some("playlist"), Some(id)) => Self::playlist(platform, id)?,
            _ => return Err(LibraryRefError::NotLibrary),
        };
        found.shuffle = shuffle;
        Ok(found)
    }
}

impl fmt::Display for LibraryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}:", self.platform.as_str())?;
        match &self.list {
            LibraryList::Playlist(id) => write!(f, "playlist:{id}")?,
            LibraryList::Liked => f.write_str("liked")?,
        }
        if self.shuffle {
            f.write_str(":shuffle")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_refuse_what_is_not_one() {
        for r in [
            LibraryRef::playlist(Platform::Spotify, "37i9dQZF1DXcBWIGoYBM5M").unwrap(),
            LibraryRef::playlist(Platform::Youtube, "PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG").unwrap(),
            LibraryRef::liked(Platform::Youtube, true).unwrap(),
            LibraryRef::liked(Platform::Spotify, false).unwrap(),
        ] {
            assert_eq!(LibraryRef::parse(&r.to_string()).unwrap(), r);
        }
        assert_eq!(
            LibraryRef::parse("library:spotify:playlist:a b"),
            Err(LibraryRefError::BadId)
        );
        assert_eq!(
            LibraryRef::parse("library:http:liked"),
            Err(LibraryRefError::Platform)
        );
        assert_eq!(
            LibraryRef::parse("https://youtu.be/x"),
            Err(LibraryRefError::NotLibrary)
        );
        let long = format!("library:youtube:playlist:{}", "a".repeat(65));
        assert_eq!(LibraryRef::parse(&long), Err(LibraryRefError::BadId));
    }
}
