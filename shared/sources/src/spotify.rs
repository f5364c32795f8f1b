//! Spotify links: metadata from the Web API, then a playable match. Tracks and albums are read
//! with the app's token (client credentials); playlists, since Spotify's March 2026 changes,
//! only with the requester's own.
//! Spotify streams nothing to bots, so a link becomes a search for the same recording:
//! by ISRC first, then by artist and title, always with the duration within ±3 s.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::Mutex;

/// A matched candidate may differ from Spotify's duration by this much.
pub const MATCH_TOLERANCE_MS: u64 = 3_000;
/// A playlist or album contributes at most this many tracks (the queue's cap).
pub const LINK_TRACKS_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Track,
    Album,
    Playlist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyLink {
    pub kind: LinkKind,
    pub id: String,
}

impl SpotifyLink {
    /// `https://open.spotify.com/[intl-xx/]track/ID?si=…` or `spotify:track:ID`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (kind, id): (String, String) = if let Some(rest) = text.strip_prefix("spotify:") {
            let (k, i) = rest.split_once(':')?;
            (k.to_owned(), i.to_owned())
        } else {
            let url = url::Url::parse(text).ok()?;
            if url.host_str()? != "open.spotify.com" {
                return None;
            }
            let mut segs: Vec<String> = url
                .path_segments()?
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if segs.first().is_some_and(|s| s.starts_with("intl-")) {
                segs.remove(0);
            }
            match <[String; 2]>::try_from(segs) {
                Ok([kind, id]) => (kind, id),
                Err(_) => return None,
            }
        };
        let id = id.as_str();
        let kind = match kind.as_str() {
            "track" => LinkKind::Track,
            "album" => LinkKind::Album,
            "playlist" => LinkKind::Playlist,
            _ => return None,
        };
        // Spotify ids are 22 base-62 characters.
        let valid = id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| Self {
            kind,
            id: id.to_owned(),
        })
    }
}

/// One recording, as Spotify describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyTrack {
    pub id: String,
    pub title: String,
    pub artists: Vec<String>,
    pub duration_ms: u64,
    pub isrc: Option<String>,
}

/// A search result to match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub url: String,
    pub duration_ms: Option<u64>,
}

/// The first candidate whose duration is within tolerance; an unknown duration never matches.
pub fn pick(candidates: &[Candidate], wanted_ms: u64) -> Option<&Candidate> {
    candidates.iter().find(|c| {
        c.duration_ms
            .is_some_and(|d| d.abs_diff(wanted_ms) <= MATCH_TOLERANCE_MS)
    })
}

impl SpotifyTrack {
    /// The two searches to try, in order: ISRC, then "artist - title".
    pub fn searches(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(2);
        if let Some(isrc) = &self.isrc {
            out.push(format!("ytsearch3:\"{isrc}\""));
        }
        let artist = self.artists.first().map(String::as_str).unwrap_or_default();
        out.push(format!("ytsearch5:{artist} - {} audio", self.title));
        out
    }
}

/// What a user is told when a playlist's items cannot be read: since 9 March 2026 a
/// Development-Mode app reads only the playlists the user it acts for owns or collaborates on.
pub const PLAYLIST_NOT_READABLE: &str = "Spotify no longer lets apps like this read other \
     people's playlists. Link your own account with /auth-spotify to play your playlists, or \
     use a YouTube link.";

#[derive(Debug, thiserror::Error)]
pub enum SpotifyError {
    #[error("Spotify links need SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET to be configured")]
    NotConfigured,
    #[error("Spotify did not answer: {0}")]
    Http(#[from] reqwest::Error),
    #[error("Spotify refused the request ({0})")]
    Status(u16),
    #[error("that Spotify item was not found")]
    NotFound,
    /// 429: rate limited, or the app's quota is spent (`QUOTA_EXCEEDED`).
    #[error("Spotify is limiting this bot's requests right now (its quota may be used up); try again later")]
    Busy,
    /// The requester's own token was refused: revoked at Spotify since it was refreshed.
    #[error("Spotify no longer accepts your link; link it again with /auth-spotify")]
    UserTokenRefused,
    /// No linked account to read the playlist as, or the playlist is someone else's (403 on
    /// `/items`). Shown to the user as it stands, so it is a whole sentence.
    #[error("{}", PLAYLIST_NOT_READABLE)]
    PlaylistNotReadable,
    #[error("Spotify's answer is larger than {BODY_MAX} bytes")]
    TooLarge,
    /// Only where the answer broke, never its content: a token answer could be quoted.
    #[error(
        "Spotify's answer is not what its documentation describes (line {line}, column {column})"
    )]
    Shape { line: usize, column: usize },
}

/// The most a Spotify answer may be: a 50-entry page is tens of kilobytes.
const BODY_MAX: usize = 2 * 1024 * 1024;
/// `/v1/playlists/{id}/items` answers 400 to a larger `limit` (2026).
const PAGE_LIMIT: usize = 50;
/// Pages followed for one link: room for [`LINK_TRACKS_MAX`] even with many removed entries,
/// and an end to a `next` that never stops.
const PAGES_MAX: usize = 2 * LINK_TRACKS_MAX / PAGE_LIMIT;

/// The Web API. Tracks and albums are read with the app's own token (client credentials);
/// playlists only as the user who pasted them. The base URLs are settings so tests can serve
/// them.
pub struct SpotifyApi {
    http: reqwest::Client,
    accounts_base: String,
    api_base: String,
    client_id: String,
    client_secret: SecretString,
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for SpotifyApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyApi")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ApiArtist {
    name: String,
}

#[derive(Deserialize, Default)]
struct ExternalIds {
    isrc: Option<String>,
}

#[derive(Deserialize)]
struct ApiTrack {
    id: Option<String>,
    name: String,
    duration_ms: u64,
    #[serde(default)]
    artists: Vec<ApiArtist>,
    #[serde(default)]
    external_ids: ExternalIds,
    /// "track" or, in a playlist, "episode"; album tracks may leave it out.
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    is_local: bool,
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

/// One entry of `/v1/playlists/{id}/items`.
#[derive(Deserialize)]
struct PlaylistEntry {
    /// The track (or episode); `null` once removed from Spotify.
    #[serde(default)]
    item: Option<ApiTrack>,
    /// The same under its deprecated name, which answers may still carry.
    #[serde(default)]
    track: Option<ApiTrack>,
}

impl PlaylistEntry {
    fn into_track(self) -> Option<ApiTrack> {
        self.item.or(self.track)
    }
}

impl ApiTrack {
    fn into_track(self) -> Option<SpotifyTrack> {
        // An episode or a local file has no recording to match.
        if self.is_local || self.kind.as_deref().is_some_and(|k| k != "track") {
            return None;
        }
        Some(SpotifyTrack {
            id: self.id?,
            title: self.name,
            artists: self.artists.into_iter().map(|a| a.name).collect(),
            duration_ms: self.duration_ms,
            isrc: self.external_ids.isrc,
        })
    }
}

/// Reads a JSON answer of at most [`BODY_MAX`] bytes.
async fn read_json<T: DeserializeOwned>(mut resp: reqwest::Response) -> Result<T, SpotifyError> {
    if resp.content_length().is_some_and(|n| n > BODY_MAX as u64) {
        return Err(SpotifyError::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if buf.len() + chunk.len() > BODY_MAX {
            return Err(SpotifyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&buf).map_err(|e| SpotifyError::Shape {
        line: e.line(),
        column: e.column(),
    })
}

impl SpotifyApi {
    pub const ACCOUNTS: &'static str = "https://accounts.spotify.com";
    pub const API: &'static str = "https://api.spotify.com";

    pub fn new(
        client_id: String,
        client_secret: String,
        accounts_base: &str,
        api_base: &str,
    ) -> Result<Self, SpotifyError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            accounts_base: accounts_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: client_secret.into(),
            token: Mutex::new(None),
        })
    }

    /// The app's own token (client credentials), reused until a minute before it expires.
    async fn token(&self) -> Result<SecretString, SpotifyError> {
        let mut slot = self.token.lock().await;
        if let Some((token, until)) = slot.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let resp = self
            .http
            .post(format!("{}/api/token", self.accounts_base))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(SpotifyError::Status(resp.status().as_u16()));
        }
        let body: TokenResponse = read_json(resp).await?;
        let token = SecretString::from(body.access_token);
        // Refresh a minute early so a token never expires mid-request.
        let until = Instant::now() + Duration::from_secs(body.expires_in.saturating_sub(60));
        *slot = Some((token.clone(), until));
        Ok(token)
    }

    /// A GET with the user's token when given, else the app's.
    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        as_user: Option<&SecretString>,
    ) -> Result<T, SpotifyError> {
        let token = match as_user {
            Some(t) => t.clone(),
            None => self.token().await?,
        };
        let resp = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await?;
        match resp.status().as_u16() {
            200..=299 => read_json(resp).await,
            404 => Err(SpotifyError::NotFound),
            401 if as_user.is_some() => Err(SpotifyError::UserTokenRefused),
            429 => Err(SpotifyError::Busy),
            s => Err(SpotifyError::Status(s)),
        }
    }

    /// The recordings a link names, in order, at most [`LINK_TRACKS_MAX`].
    ///
    /// `as_user` is the requester's own token. A playlist is read only with it: since
    /// 9 March 2026 a Development-Mode app's own token reads no playlist's items, and a
    /// user's reads only the playlists they own or collaborate on. Tracks and albums are read
    /// with the app's token.
    pub async fn tracks(
        &self,
        link: &SpotifyLink,
        as_user: Option<&SecretString>,
    ) -> Result<Vec<SpotifyTrack>, SpotifyError> {
        let base = &self.api_base;
        match link.kind {
            LinkKind::Track => {
                // Still carries the ISRC. The batch `/v1/tracks?ids=` is gone (403).
                let t: ApiTrack = self
                    .get(&format!("{base}/v1/tracks/{}", link.id), None)
                    .await?;
                Ok(t.into_track().into_iter().collect())
            }
            LinkKind::Album => {
                // Album track objects carry no ISRC; the title search still applies.
                let first = format!("{base}/v1/albums/{}/tracks?limit=50", link.id);
                self.paged::<ApiTrack>(first, None, Some).await
            }
            LinkKind::Playlist => {
                // Never `/tracks`: it answers 403 to every Development-Mode app since then.
                let as_user = as_user.ok_or(SpotifyError::PlaylistNotReadable)?;
                let first = format!("{base}/v1/playlists/{}/items?limit={PAGE_LIMIT}", link.id);
                self.paged(first, Some(as_user), PlaylistEntry::into_track)
                    .await
                    .map_err(|e| match e {
                        // Neither owned by nor shared with the requester.
                        SpotifyError::Status(403) => SpotifyError::PlaylistNotReadable,
                        e => e,
                    })
            }
        }
    }

    async fn paged<T: DeserializeOwned>(
        &self,
        first: String,
        as_user: Option<&SecretString>,
        track: impl Fn(T) -> Option<ApiTrack>,
    ) -> Result<Vec<SpotifyTrack>, SpotifyError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            // The token goes along: follow pages only on the API we were configured with.
            if !url.starts_with(&format!("{}/", self.api_base)) || pages == PAGES_MAX {
                tracing::warn!(pages, "stopped following Spotify's pages");
                break;
            }
            pages += 1;
            let page: Page<T> = self.get(&url, as_user).await?;
            out.extend(
                page.items
                    .into_iter()
                    .filter_map(&track)
                    .filter_map(ApiTrack::into_track),
            );
            if out.len() >= LINK_TRACKS_MAX {
                out.truncate(LINK_TRACKS_MAX);
                break;
            }
            next = page.next;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4uLU6hMCjMI75M1A2tKUQC";

    #[test]
    fn links_parse() {
        for text in [
            format!("https://open.spotify.com/track/{ID}"),
            format!("https://open.spotify.com/intl-de/track/{ID}?si=abc"),
            format!("spotify:track:{ID}"),
        ] {
            assert_eq!(
                SpotifyLink::parse(&text),
                Some(SpotifyLink {
                    kind: LinkKind::Track,
                    id: ID.into()
                }),
                "{text}"
            );
        }
        assert_eq!(
            SpotifyLink::parse(&format!("https://open.spotify.com/playlist/{ID}"))
                .unwrap()
                .kind,
            LinkKind::Playlist
        );
        assert!(SpotifyLink::parse("https://open.spotify.com/track/short").is_none());
        assert!(SpotifyLink::parse(&format!("https://open.spotify.com/show/{ID}")).is_none());
        assert!(SpotifyLink::parse(&format!("https://evil.example/track/{ID}")).is_none());
    }

    #[test]
    fn matching_needs_the_duration_within_three_seconds() {
        let c = |url: &str, d: Option<u64>| Candidate {
            url: url.into(),
            duration_ms: d,
        };
        let cands = [
            c("a", None),
            c("b", Some(213_000 + 3_001)),
            c("c", Some(213_000 - 2_999)),
            c("d", Some(213_000)),
        ];
        assert_eq!(pick(&cands, 213_000).unwrap().url, "c");
        assert!(pick(&cands[..2], 213_000).is_none());
    }

    #[test]
    fn playlist_entries_read_item_then_the_deprecated_track() {
        let page: Page<PlaylistEntry> = serde_json::from_value(serde_json::json!({
            "items": [
                {"added_at": "2026-03-10T00:00:00Z",
                 "item": {"id": "a", "name": "Item", "duration_ms": 1, "type": "track",
                          "artists": [{"name": "X"}], "external_ids": {"isrc": "I1"}}},
                {"track": {"id": "b", "name": "Deprecated", "duration_ms": 2}},
                {"item": null},
                {"item": {"id": "c", "name": "Episode", "duration_ms": 3, "type": "episode"}},
                {"item": {"id": null, "name": "Local", "duration_ms": 4, "is_local": true}}
            ],
            "next": null, "total": 5
        }))
        .unwrap();
        let tracks: Vec<SpotifyTrack> = page
            .items
            .into_iter()
            .filter_map(PlaylistEntry::into_track)
            .filter_map(ApiTrack::into_track)
            .collect();
        let titles: Vec<&str> = tracks.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Item", "Deprecated"],
            "removed, episode and local skipped"
        );
        assert_eq!(tracks[0].isrc.as_deref(), Some("I1"));
    }

    #[test]
    fn an_unreadable_playlist_is_one_plain_sentence() {
        let text = SpotifyError::PlaylistNotReadable.to_string();
        assert_eq!(
            text,
            "Spotify no longer lets apps like this read other people's playlists. Link your own \
             account with /auth-spotify to play your playlists, or use a YouTube link."
        );
    }

    #[test]
    fn a_shape_error_quotes_nothing_from_the_answer() {
        let err = serde_json::from_str::<TokenResponse>(r#"{"access_token": 1234567}"#)
            .map_err(|e| SpotifyError::Shape {
                line: e.line(),
                column: e.column(),
            })
            .err()
            .unwrap();
        assert!(!err.to_string().contains("1234567"), "{err}");
    }

    #[test]
    fn isrc_is_searched_first() {
        let t = SpotifyTrack {
            id: ID.into(),
            title: "Never Gonna Give You Up".into(),
            artists: vec!["Rick Astley".into()],
            duration_ms: 213_000,
            isrc: Some("GBARL9300135".into()),
        };
        let s = t.searches();
        assert_eq!(s[0], "ytsearch3:\"GBARL9300135\"");
        assert!(s[1].starts_with("ytsearch5:Rick Astley - Never Gonna Give You Up"));
        let no_isrc = SpotifyTrack { isrc: None, ..t };
        assert_eq!(no_isrc.searches().len(), 1);
    }
}
