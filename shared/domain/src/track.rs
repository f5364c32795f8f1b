//! A playable track and the key that names it across the queue, history and cache.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// Where a track comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Youtube,
    Soundcloud,
    Spotify,
    /// A direct HTTP(S) audio URL.
    Http,
    /// A file in the embedded mode's music directory.
    Local,
    /// Anything else yt-dlp can play.
    Other,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Youtube,
        Platform::Soundcloud,
        Platform::Spotify,
        Platform::Http,
        Platform::Local,
        Platform::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Youtube => "youtube",
            Platform::Soundcloud => "soundcloud",
            Platform::Spotify => "spotify",
            Platform::Http => "http",
            Platform::Local => "local",
            Platform::Other => "other",
        }
    }

    pub fn parse(input: &str) -> Result<Self, TrackError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == input)
            .ok_or_else(|| TrackError::UnknownPlatform(input.chars().take(32).collect()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("unknown platform {0:?}")]
    UnknownPlatform(String),
    #[error("a track id must not be empty")]
    EmptyId,
    #[error("a track id must not contain control characters")]
    ControlInId,
    #[error("a track needs a title")]
    EmptyTitle,
    #[error("a track's source must not be empty")]
    EmptySource,
    #[error("a track's source is {len} bytes; the limit is {max}")]
    SourceTooLong { len: usize, max: usize },
    #[error("a track key must look like platform:id, got {0:?}")]
    BadKey(String),
}

/// Longest platform id kept verbatim in a key. DynamoDB caps a sort key at 1,024 bytes and
/// the history sort key is `<ms>#<key>`, so longer ids (long URLs) are shortened with a hash.
pub const TRACK_ID_MAX: usize = 256;
/// Longest source (URL or search query) a track may carry.
pub const SOURCE_MAX: usize = 2048;
/// Titles and artists longer than this are cut, not refused: they come from platforms.
pub const TEXT_MAX: usize = 256;

/// Names one track on one platform: `youtube:dQw4w9WgXcQ`, `http:https://…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackKey {
    platform: Platform,
    id: String,
}

impl TrackKey {
    pub fn new(platform: Platform, id: &str) -> Result<Self, TrackError> {
        if id.is_empty() {
            return Err(TrackError::EmptyId);
        }
        if id.chars().any(char::is_control) {
            return Err(TrackError::ControlInId);
        }
        let id = if id.len() <= TRACK_ID_MAX {
            id.to_owned()
        } else {
            shorten(id)
        };
        Ok(Self { platform, id })
    }

    pub fn parse(input: &str) -> Result<Self, TrackError> {
        let (platform, id) = input
            .split_once(':')
            .ok_or_else(|| TrackError::BadKey(input.chars().take(32).collect()))?;
        let key = Self::new(Platform::parse(platform)?, id)?;
        if key.id != id {
            return Err(TrackError::BadKey(input.chars().take(32).collect()));
        }
        Ok(key)
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Keeps a readable prefix and makes the rest unique with a 64-bit FNV-1a hash.
fn shorten(id: &str) -> String {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut cut = TRACK_ID_MAX - 17;
    while !id.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}#{hash:016x}", &id[..cut])
}

impl fmt::Display for TrackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.id)
    }
}

impl TryFrom<String> for TrackKey {
    type Error = TrackError;
    fn try_from(value: String) -> Result<Self, TrackError> {
        Self::parse(&value)
    }
}

impl From<TrackKey> for String {
    fn from(key: TrackKey) -> String {
        key.to_string()
    }
}

/// One track as it sits in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub key: TrackKey,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// What the player opens: a URL, a local path or a yt-dlp query.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    pub requester: UserId,
}

impl Track {
    /// Builds a track, cutting over-long text and refusing an unusable source.
    pub fn new(
        key: TrackKey,
        title: &str,
        source: &str,
        requester: UserId,
    ) -> Result<Self, TrackError> {
        let title = clip(title);
        if title.is_empty() {
            return Err(TrackError::EmptyTitle);
        }
        let source = source.trim();
        if source.is_empty() {
            return Err(TrackError::EmptySource);
        }
        if source.len() > SOURCE_MAX {
            return Err(TrackError::SourceTooLong {
                len: source.len(),
                max: SOURCE_MAX,
            });
        }
        Ok(Self {
            key,
            title,
            artist: None,
            duration_ms: None,
            source: source.to_owned(),
            thumbnail: None,
            requester,
        })
    }

    pub fn with_artist(mut self, artist: &str) -> Self {
        let artist = clip(artist);
        self.artist = (!artist.is_empty()).then_some(artist);
        self
    }

    pub fn with_duration_ms(mut self, duration_ms: u64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }

    pub fn with_thumbnail(mut self, url: &str) -> Self {
        self.thumbnail = (!url.is_empty() && url.len() <= SOURCE_MAX).then(|| url.to_owned());
        self
    }
}

/// Trims, drops control characters and cuts to `TEXT_MAX` characters.
fn clip(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(TEXT_MAX)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::new(7).unwrap()
    }

    #[test]
    fn key_round_trips_through_its_text_form() {
        let key = TrackKey::new(Platform::Youtube, "dQw4w9WgXcQ").unwrap();
        assert_eq!(key.to_string(), "youtube:dQw4w9WgXcQ");
        assert_eq!(TrackKey::parse("youtube:dQw4w9WgXcQ").unwrap(), key);
        // URLs contain colons; only the first one separates the platform.
        let url = TrackKey::parse("http:https://a.example/x.mp3").unwrap();
        assert_eq!(url.id(), "https://a.example/x.mp3");
    }

    #[test]
    fn key_rejects_bad_input() {
        assert_eq!(TrackKey::new(Platform::Http, ""), Err(TrackError::EmptyId));
        assert_eq!(
            TrackKey::new(Platform::Http, "a\nb"),
            Err(TrackError::ControlInId)
        );
        assert!(matches!(
            TrackKey::parse("nocolon"),
            Err(TrackError::BadKey(_))
        ));
        assert!(matches!(
            TrackKey::parse("vimeo:1"),
            Err(TrackError::UnknownPlatform(_))
        ));
    }

    #[test]
    fn long_ids_are_shortened_but_stay_distinct() {
        let a = format!("https://a.example/{}", "a".repeat(1000));
        let b = format!("https://a.example/{}", "a".repeat(999) + "b");
        let ka = TrackKey::new(Platform::Http, &a).unwrap();
        let kb = TrackKey::new(Platform::Http, &b).unwrap();
        assert!(ka.id().len() <= TRACK_ID_MAX);
        assert_ne!(ka, kb);
        // A shortened key parses back to itself.
        assert_eq!(TrackKey::parse(&ka.to_string()).unwrap(), ka);
    }

    #[test]
    fn shortening_respects_utf8_boundaries() {
        let id = "é".repeat(400);
        let key = TrackKey::new(Platform::Other, &id).unwrap();
        assert!(key.id().len() <= TRACK_ID_MAX);
    }

    #[test]
    fn track_clips_text_and_validates_source() {
        let key = TrackKey::new(Platform::Youtube, "x").unwrap();
        let t = Track::new(key.clone(), &"t".repeat(1000), " ytsearch1:foo ", user()).unwrap();
        assert_eq!(t.title.chars().count(), TEXT_MAX);
        assert_eq!(t.source, "ytsearch1:foo");
        assert_eq!(
            Track::new(key.clone(), "  \n ", "s", user()),
            Err(TrackError::EmptyTitle)
        );
        assert_eq!(
            Track::new(key.clone(), "t", "  ", user()),
            Err(TrackError::EmptySource)
        );
        let long = "s".repeat(SOURCE_MAX + 1);
        assert!(matches!(
            Track::new(key, "t", &long, user()),
            Err(TrackError::SourceTooLong { .. })
        ));
    }
}
