//! Spotify links: metadata from the Web API (client credentials), then a playable match.
//! Spotify streams nothing to bots, so a link becomes a search for the same recording:
//! by ISRC first, then by artist and title, always with the duration within ±3 s.

use std::time::{Duration, Instant};

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
}

/// The Web API, client-credentials flow. The base URLs are settings so tests can serve them.
pub struct SpotifyApi {
    http: reqwest::Client,
    accounts_base: String,
    api_base: String,
    client_id: String,
    client_secret: String,
    token: Mutex<Option<(String, Instant)>>,
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
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct PlaylistItem {
    track: Option<ApiTrack>,
}

impl ApiTrack {
    fn into_track(self) -> Option<SpotifyTrack> {
        Some(SpotifyTrack {
            id: self.id?,
            title: self.name,
            artists: self.artists.into_iter().map(|a| a.name).collect(),
            duration_ms: self.duration_ms,
            isrc: self.external_ids.isrc,
        })
    }
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
            client_secret,
            token: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<String, SpotifyError> {
        let mut slot = self.token.lock().await;
        if let Some((token, until)) = slot.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let resp = self
            .http
            .post(format!("{}/api/token", self.accounts_base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(SpotifyError::Status(resp.status().as_u16()));
        }
        let body: TokenResponse = resp.json().await?;
        // Refresh a minute early so a token never expires mid-request.
        let until = Instant::now() + Duration::from_secs(body.expires_in.saturating_sub(60));
        *slot = Some((body.access_token.clone(), until));
        Ok(body.access_token)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, SpotifyError> {
        let token = self.token().await?;
        let resp = self.http.get(url).bearer_auth(token).send().await?;
        match resp.status().as_u16() {
            200..=299 => Ok(resp.json().await?),
            404 => Err(SpotifyError::NotFound),
            s => Err(SpotifyError::Status(s)),
        }
    }

    /// The recordings a link names, in order, at most [`LINK_TRACKS_MAX`].
    pub async fn tracks(&self, link: &SpotifyLink) -> Result<Vec<SpotifyTrack>, SpotifyError> {
        let base = &self.api_base;
        match link.kind {
            LinkKind::Track => {
                let t: ApiTrack = self.get(&format!("{base}/v1/tracks/{}", link.id)).await?;
                Ok(t.into_track().into_iter().collect())
            }
            LinkKind::Album => {
                // Album track objects carry no ISRC; the title search still applies.
                let first = format!("{base}/v1/albums/{}/tracks?limit=50", link.id);
                self.paged::<ApiTrack>(first, Some).await
            }
            LinkKind::Playlist => {
                let first = format!("{base}/v1/playlists/{}/tracks?limit=100", link.id);
                self.paged::<PlaylistItem>(first, |i| i.track).await
            }
        }
    }

    async fn paged<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        track: impl Fn(T) -> Option<ApiTrack>,
    ) -> Result<Vec<SpotifyTrack>, SpotifyError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            // Only follow pages on the API we were configured with.
            if !url.starts_with(&self.api_base) {
                break;
            }
            let page: Page<T> = self.get(&url).await?;
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
