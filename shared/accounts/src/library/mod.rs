//! The user's own library on YouTube and Spotify, read with the user's own token: their
//! playlists, liked music and (Spotify) recently played and top tracks.
//!
//! Everything a platform answers is bounded before it reaches Discord or the queue: pages
//! followed, items taken, ids checked, text trimmed. An id that comes back from a user (a
//! select-menu value, a cursor in a button) is checked before any request is made.

use serde::{Deserialize, Serialize};
pub use timmybot_domain::library::{Expanded, LibraryTrack};
use timmybot_domain::Platform;

use crate::http::HttpError;

mod cache;
mod spotify;
mod youtube;

pub use cache::{ListCache, LIST_CACHE_ENTRIES, LIST_TTL_MS};
pub use spotify::SpotifyLibrary;
pub use youtube::{parse_iso8601_duration_ms, YoutubeLibrary};

/// Playlists shown per page: a Discord select menu holds 25 options.
pub const PAGE_SIZE: usize = 25;
/// Titles and artist names are trimmed to this many characters.
pub const TITLE_MAX: usize = 200;
/// The most tracks one expansion returns, whatever the caller asks for.
pub const EXPAND_MAX: usize = 1_000;
/// The most pages one expansion follows (50 items each), so a platform answering
/// `next` forever cannot keep us busy.
pub const PAGES_MAX: usize = 40;
/// Cursors travel in Discord custom ids (100 characters in all), so they stay short.
pub const CURSOR_MAX: usize = 64;

/// One of the user's playlists, as listed in `/my-playlists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playlist {
    pub platform: Platform,
    pub id: String,
    pub title: String,
    pub tracks: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page (a YouTube pageToken or a Spotify offset).
    pub next: Option<String>,
    /// How many there are in all, when the platform's count is the user's count.
    pub total: Option<u32>,
}

/// What went wrong, in sentences a user can read. The underlying [`HttpError`] is the
/// `source` for logs.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{}", http_sentence(.0))]
    Http(#[from] HttpError),
    #[error("{}", quota_sentence(*.platform))]
    QuotaExceeded { platform: Platform },
    /// Spotify answered 403 for a playlist's items: the user neither owns it nor collaborates on it.
    #[error(
        "Spotify lets this bot read only playlists you own or collaborate on. \
         Pick one of your own, or paste a YouTube link instead."
    )]
    NotYours,
    /// The platform refused the user's token (401).
    #[error(
        "Your linked account was signed out or the link has expired. \
         Link it again with /auth-youtube or /auth-spotify."
    )]
    Expired,
    /// A playlist id or cursor from the user is not one the platform could have given us.
    #[error("That is not a playlist or page this bot offered. Run the command again.")]
    Malformed,
}

fn http_sentence(err: &HttpError) -> &'static str {
    match err {
        HttpError::Unauthorized => {
            "Your linked account was signed out or the link has expired. Link it again."
        }
        HttpError::RateLimited { .. } => "The music service is busy. Try again in a minute.",
        HttpError::NotFound => "That playlist no longer exists, or your account cannot see it.",
        HttpError::Forbidden { .. } => "The music service would not share that with this bot.",
        HttpError::Unreachable(_) | HttpError::Status(500..=599) => {
            "The music service is not answering right now. Try again in a minute."
        }
        HttpError::Status(_) | HttpError::TooLarge | HttpError::Shape(_) => {
            "The music service answered something this bot does not understand. Try again later."
        }
    }
}

fn quota_sentence(platform: Platform) -> &'static str {
    match platform {
        Platform::Youtube => {
            "This bot has used up its YouTube quota for today (10,000 units a day). \
             Lists are cached for a minute; try again after midnight Pacific time."
        }
        Platform::Spotify => {
            "Spotify says this bot has used up its request quota. Try again later."
        }
        _ => "The music service says this bot has used up its quota. Try again later.",
    }
}

/// A GET of `base` + `path` with the user's token, its errors mapped for `platform`.
pub(crate) async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    platform: Platform,
    path: &str,
    query: &[(&str, &str)],
    token: &secrecy::SecretString,
) -> Result<T, LibraryError> {
    let req = http.get(format!("{base}{path}")).query(query);
    crate::http::json(req, Some(token))
        .await
        .map_err(|e| map_http(platform, e))
}

/// Maps the HTTP helper's errors to what the library promises: a spent quota, a refused token.
pub(crate) fn map_http(platform: Platform, err: HttpError) -> LibraryError {
    match err {
        HttpError::RateLimited { quota: true, .. } => LibraryError::QuotaExceeded { platform },
        HttpError::Unauthorized => LibraryError::Expired,
        other => LibraryError::Http(other),
    }
}

/// Control characters (newlines in a select-menu label) become spaces; at most `max` characters.
pub(crate) fn clean_text(raw: &str, max: usize) -> String {
    let cleaned: String = raw
        .trim()
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.trim().to_owned()
}

/// A title: cleaned, bounded, and never empty (a select menu refuses an empty label).
pub(crate) fn clean_title(raw: Option<&str>) -> String {
    let title = clean_text(raw.unwrap_or_default(), TITLE_MAX);
    if title.is_empty() {
        "(untitled)".to_owned()
    } else {
        title
    }
}

/// An optional name (artist, channel): cleaned, bounded, `None` when empty.
pub(crate) fn clean_name(raw: Option<&str>) -> Option<String> {
    let name = clean_text(raw?, TITLE_MAX);
    (!name.is_empty()).then_some(name)
}

/// YouTube video and playlist ids: `[A-Za-z0-9_-]{1,64}`.
pub fn valid_youtube_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Spotify ids: base62, at most 32 characters (22 in practice).
pub fn valid_spotify_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An ISRC is 12 letters and digits; anything else is dropped rather than trusted.
pub(crate) fn clean_isrc(raw: Option<&str>) -> Option<String> {
    let isrc = raw?.trim();
    (isrc.len() == 12 && isrc.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| isrc.to_ascii_uppercase())
}

/// The base URL with no trailing slash, so paths can be appended.
pub(crate) fn base(api_base: &str) -> String {
    api_base.trim_end_matches('/').to_owned()
}

/// A local stand-in for a platform's API, for the clients' tests: answers from a closure,
/// and records each request (path, query, bearer) so tests can count and inspect them.
#[cfg(test)]
pub(crate) mod stand {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, StatusCode, Uri};
    use serde_json::Value;

    #[derive(Debug, Clone)]
    pub struct Req {
        pub path: String,
        pub raw_query: String,
        pub query: HashMap<String, String>,
        pub bearer: Option<String>,
    }

    impl Req {
        pub fn q(&self, key: &str) -> Option<&str> {
            self.query.get(key).map(String::as_str)
        }
    }

    type Handler = dyn Fn(&Req) -> (u16, Value) + Send + Sync;

    pub struct Stand {
        pub base: String,
        log: Arc<Mutex<Vec<Req>>>,
    }

    impl Stand {
        pub async fn start(answer: impl Fn(&Req) -> (u16, Value) + Send + Sync + 'static) -> Self {
            let answer: Arc<Handler> = Arc::new(answer);
            let log = Arc::new(Mutex::new(Vec::new()));
            let seen = log.clone();
            let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
                let answer = answer.clone();
                let seen = seen.clone();
                async move {
                    let raw_query = uri.query().unwrap_or_default().to_owned();
                    let req = Req {
                        path: uri.path().to_owned(),
                        query: url::form_urlencoded::parse(raw_query.as_bytes())
                            .into_owned()
                            .collect(),
                        raw_query,
                        bearer: headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .map(str::to_owned),
                    };
                    let (status, body) = answer(&req);
                    seen.lock().unwrap().push(req);
                    (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Self {
                base: format!("http://{addr}"),
                log,
            }
        }

        pub fn requests(&self) -> Vec<Req> {
            self.log.lock().unwrap().clone()
        }

        pub fn count(&self, path: &str) -> usize {
            self.requests().iter().filter(|r| r.path == path).count()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean_text("  a\nb\tc  ", 200), "a b c");
        assert_eq!(
            clean_title(Some(&"x".repeat(500))).chars().count(),
            TITLE_MAX
        );
        assert_eq!(clean_title(Some("  ")), "(untitled)");
        assert_eq!(clean_title(None), "(untitled)");
        assert_eq!(clean_name(Some(" \n ")), None);
        // Multi-byte characters are counted as characters, never split.
        assert_eq!(
            clean_text(&"é".repeat(300), TITLE_MAX).chars().count(),
            TITLE_MAX
        );
    }

    #[test]
    fn ids_are_validated() {
        assert!(valid_youtube_id("PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf"));
        assert!(valid_youtube_id("dQw4w9WgXcQ"));
        assert!(valid_youtube_id("LL"));
        assert!(!valid_youtube_id(""));
        assert!(!valid_youtube_id(&"a".repeat(65)));
        assert!(!valid_youtube_id("PL../../x"));
        assert!(!valid_youtube_id("a b"));
        assert!(!valid_youtube_id("a&mine=false"));
        assert!(valid_spotify_id("37i9dQZF1DXcBWIGoYBM5M"));
        assert!(!valid_spotify_id("37i9dQZF1DXcBWIGoYBM5M/tracks"));
        assert!(!valid_spotify_id("a_b"));
        assert!(!valid_spotify_id(&"a".repeat(33)));
        assert!(!valid_spotify_id(""));
        assert_eq!(
            clean_isrc(Some("usrc17607839")).as_deref(),
            Some("USRC17607839")
        );
        assert_eq!(clean_isrc(Some("US-RC1-76-07839")), None);
        assert_eq!(clean_isrc(None), None);
    }

    #[test]
    fn errors_map_to_what_a_user_can_act_on() {
        let quota = HttpError::RateLimited {
            retry_after_s: None,
            quota: true,
        };
        assert!(matches!(
            map_http(Platform::Youtube, quota),
            LibraryError::QuotaExceeded {
                platform: Platform::Youtube
            }
        ));
        assert!(matches!(
            map_http(Platform::Spotify, HttpError::Unauthorized),
            LibraryError::Expired
        ));
        let busy = HttpError::RateLimited {
            retry_after_s: Some(3),
            quota: false,
        };
        assert!(matches!(
            map_http(Platform::Spotify, busy),
            LibraryError::Http(HttpError::RateLimited { quota: false, .. })
        ));
        // The sentences name no status codes or parser internals.
        let shape = LibraryError::Http(HttpError::Shape("missing field `id` at line 1".into()));
        for err in [
            shape,
            LibraryError::Http(HttpError::Status(418)),
            LibraryError::Http(HttpError::Forbidden {
                reason: Some("forbidden".into()),
            }),
            LibraryError::QuotaExceeded {
                platform: Platform::Youtube,
            },
            LibraryError::QuotaExceeded {
                platform: Platform::Spotify,
            },
            LibraryError::NotYours,
            LibraryError::Expired,
            LibraryError::Malformed,
        ] {
            let text = err.to_string();
            assert!(text.ends_with('.'), "{text}");
            for internal in ["403", "418", "429", "missing field", "forbidden"] {
                assert!(!text.contains(internal), "{text}");
            }
        }
        assert!(LibraryError::QuotaExceeded {
            platform: Platform::Youtube
        }
        .to_string()
        .contains("YouTube"));
    }
}
