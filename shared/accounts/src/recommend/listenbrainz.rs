//! ListenBrainz's LB Radio: recordings by an artist and the artists like them, no key needed.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::limiter::{per_base, Limiter, TtlCache};
use super::{clean_text, fold, get_json, ServiceError};
use crate::http::HttpError;

/// LB Radio shuffles its answer each time; an hour of the same answer is fresh enough and
/// keeps autoplay, which asks after every track, off the service.
const RADIO_TTL: Duration = Duration::from_secs(60 * 60);
const RADIO_MAX: usize = 256;
/// Tracks kept from one answer ("easy" mode sends about fifty).
pub const TRACKS_MAX: usize = 100;

/// One recording LB Radio suggested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub title: String,
    pub artist: String,
}

struct Shared {
    limiter: Limiter,
    radio: TtlCache<Arc<Vec<Track>>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            limiter: Limiter::default(),
            radio: TtlCache::new(RADIO_TTL, RADIO_MAX),
        }
    }
}

static SHARED: LazyLock<Mutex<HashMap<String, Arc<Shared>>>> = LazyLock::new(Default::default);

pub struct ListenBrainz {
    http: reqwest::Client,
    base: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ListenBrainz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenBrainz")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ListenBrainz {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let shared = per_base(&SHARED, &base);
        Self { http, base, shared }
    }

    /// Recordings like `artist`'s, in LB Radio's order. An artist ListenBrainz does not know
    /// is an empty list (cached like any answer), not an error.
    pub async fn radio(
        &self,
        artist: &str,
        deadline: Instant,
    ) -> Result<Arc<Vec<Track>>, ServiceError> {
        let key = fold(artist);
        if let Some(hit) = self.shared.radio.get(&key) {
            return Ok(hit);
        }
        let prompt = prompt(artist);
        let req = self
            .http
            .get(format!("{}/1/explore/lb-radio", self.base))
            .query(&[("prompt", prompt.as_str()), ("mode", "easy")]);
        let tracks = match get_json::<Answer>(req, &self.shared.limiter, deadline).await {
            Ok(answer) => answer.tracks(),
            // LB Radio answers 400/404 when its prompt names an artist it has no data for.
            Err(ServiceError::Http(HttpError::NotFound | HttpError::Status(400))) => Vec::new(),
            Err(e) => return Err(e),
        };
        let tracks = Arc::new(tracks);
        self.shared.radio.insert(key, tracks.clone());
        Ok(tracks)
    }
}

/// The LB Radio prompt for one artist: `artist:(NAME)`, with the characters its prompt parser
/// treats specially inside the parentheses (`\`, `(`, `)`) escaped by a backslash, and
/// whitespace collapsed as the parser would.
pub fn prompt(artist: &str) -> String {
    let mut out = String::from("artist:(");
    for (i, word) in artist.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for c in word.chars() {
            if matches!(c, '\\' | '(' | ')') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push(')');
    out
}

#[derive(Debug, Deserialize)]
struct Answer {
    payload: Payload,
}

#[derive(Debug, Deserialize)]
struct Payload {
    jspf: Jspf,
}

#[derive(Debug, Deserialize)]
struct Jspf {
    playlist: Playlist,
}

#[derive(Debug, Deserialize)]
struct Playlist {
    #[serde(default)]
    track: Vec<JspfTrack>,
}

#[derive(Debug, Deserialize)]
struct JspfTrack {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    creator: Option<String>,
}

impl Answer {
    /// The playable ones (a title and an artist), cleaned and at most [`TRACKS_MAX`].
    fn tracks(self) -> Vec<Track> {
        self.payload
            .jspf
            .playlist
            .track
            .into_iter()
            .filter_map(|t| {
                Some(Track {
                    title: clean_text(t.title.as_deref()?)?,
                    artist: clean_text(t.creator.as_deref()?)?,
                })
            })
            .take(TRACKS_MAX)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artist_names_are_escaped_for_the_prompt() {
        assert_eq!(prompt("Adele"), "artist:(Adele)");
        assert_eq!(prompt("  The   Knife "), "artist:(The Knife)");
        assert_eq!(prompt("Sunn O)))"), r"artist:(Sunn O\)\)\))");
        assert_eq!(prompt("(hed) p.e."), r"artist:(\(hed\) p.e.)");
        assert_eq!(prompt(r"a\b"), r"artist:(a\\b)");
        // A colon or a quote means nothing inside the parentheses.
        assert_eq!(prompt("Sixpence: \"None\""), "artist:(Sixpence: \"None\")");
    }

    #[test]
    fn the_documented_shape_is_read_and_bounded() {
        let mut track = Vec::new();
        for i in 0..150 {
            track.push(serde_json::json!({
                "title": format!("Song {i}"),
                "creator": "Artist",
                "identifier": ["https://musicbrainz.org/recording/8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"],
                "duration": 200000
            }));
        }
        track.insert(0, serde_json::json!({"title": "  ", "creator": "No Title"}));
        track.insert(1, serde_json::json!({"title": "No Creator"}));
        let body = serde_json::json!({"payload": {"jspf": {"playlist": {"track": track}}}});
        let answer: Answer = serde_json::from_value(body).unwrap();
        let tracks = answer.tracks();
        assert_eq!(tracks.len(), TRACKS_MAX);
        assert_eq!(
            tracks[0],
            Track {
                title: "Song 0".into(),
                artist: "Artist".into()
            }
        );
    }
}
