//! The user's Spotify library through the Web API as it stands since March 2026, for an app
//! in Development Mode: only playlists the user owns or collaborates on can be read, a
//! playlist's entries come from `/v1/playlists/{id}/items` (never the closed `/tracks`),
//! and each entry's track is under `item` (`track` is the deprecated spelling).
//!
//! Pages are followed by offset against our own base URL, never through the `next` URL
//! Spotify sends, so an answer cannot send the user's token anywhere else.

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use timmybot_domain::Platform;

use super::{
    base, clean_isrc, clean_name, clean_text, clean_title, valid_spotify_id, Expanded,
    LibraryError, LibraryTrack, Page, Playlist, EXPAND_MAX, PAGES_MAX, PAGE_SIZE, TITLE_MAX,
};
use crate::http::HttpError;

/// Spotify's page size for playlists, items and saved tracks (`limit` above 50 is a 400).
const LIMIT: usize = 50;
/// Pages of `/v1/me/playlists` one listing call may read looking for 25 of the user's own:
/// someone who follows hundreds of others' playlists gets a "more" page rather than a wait.
const PLAYLIST_SCAN_PAGES: usize = 4;
/// Offsets beyond this are not a library anyone has; a cursor past it is refused.
const OFFSET_MAX: usize = 100_000;
/// Spotify user ids are usernames on old accounts, so only their length is bounded.
const USER_ID_MAX: usize = 128;
/// Artists named on one track; a long credit list is trimmed.
const ARTISTS_MAX: usize = 5;

#[derive(Debug, Clone)]
pub struct SpotifyLibrary {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Me {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Paging<T> {
    #[serde(default = "Vec::new")]
    items: Vec<Option<T>>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct SimplePlaylist {
    id: Option<String>,
    name: Option<String>,
    owner: Option<Owner>,
    #[serde(default)]
    collaborative: Option<bool>,
    /// 2026 spelling of the count.
    items: Option<Count>,
    /// The older spelling, still sent to older apps.
    tracks: Option<Count>,
}

#[derive(Deserialize)]
struct Owner {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Count {
    total: Option<u32>,
}

/// A playlist entry (`item`, or the deprecated `track`) or a saved / recently played one (`track`).
#[derive(Deserialize)]
struct Entry {
    item: Option<TrackObject>,
    track: Option<TrackObject>,
}

#[derive(Deserialize)]
struct TrackObject {
    id: Option<String>,
    name: Option<String>,
    duration_ms: Option<u64>,
    artists: Option<Vec<Option<Artist>>>,
    external_ids: Option<ExternalIds>,
    #[serde(default)]
    is_local: Option<bool>,
    /// `track` or `episode`: podcast episodes in a playlist are not music to match.
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Artist {
    name: Option<String>,
}

#[derive(Deserialize)]
struct ExternalIds {
    isrc: Option<String>,
}

impl SpotifyLibrary {
    /// `api_base` is `https://api.spotify.com` (tests point it at a stand-in).
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self {
            http,
            base: base(api_base),
        }
    }

    /// The user's Spotify id (`GET /v1/me`).
    pub async fn me(&self, token: &SecretString) -> Result<String, LibraryError> {
        let me: Me = self.get("/v1/me", &[], token).await?;
        me.id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty() && id.len() <= USER_ID_MAX)
            .ok_or_else(|| LibraryError::Http(HttpError::Shape("/v1/me has no usable id".into())))
    }

    /// The playlists the user owns or collaborates on (the only ones Development Mode can
    /// read), 25 a page. `cursor` is the `next` of the previous page: an offset into
    /// Spotify's own list, which also holds playlists the user merely follows.
    /// `total` is known only when the whole list fit on the first page.
    pub async fn playlists(
        &self,
        token: &SecretString,
        cursor: Option<&str>,
    ) -> Result<Page<Playlist>, LibraryError> {
        let start = match cursor {
            None => 0,
            Some(c) => parse_offset(c).ok_or(LibraryError::Malformed)?,
        };
        // Both are needed and neither depends on the other: one round trip, not two.
        let (me, mut page) = tokio::try_join!(self.me(token), self.playlist_page(token, start))?;
        let mut offset = start;
        let mut kept = Vec::new();
        let mut pages = 1;
        loop {
            let read = page.items.len();
            for (i, item) in page.items.into_iter().enumerate() {
                let Some(playlist) = item.and_then(|p| readable_playlist(p, &me)) else {
                    continue;
                };
                if kept.len() == PAGE_SIZE {
                    // The 26th of the user's own: the next page starts with it.
                    return Ok(Page {
                        items: kept,
                        next: Some((offset + i).to_string()),
                        total: None,
                    });
                }
                kept.push(playlist);
            }
            offset += read;
            if page.next.is_none() || read == 0 || offset >= OFFSET_MAX {
                let total = (start == 0).then(|| u32::try_from(kept.len()).unwrap_or(u32::MAX));
                return Ok(Page {
                    items: kept,
                    next: None,
                    total,
                });
            }
            if kept.len() == PAGE_SIZE || pages >= PLAYLIST_SCAN_PAGES {
                return Ok(Page {
                    items: kept,
                    next: Some(offset.to_string()),
                    total: None,
                });
            }
            page = self.playlist_page(token, offset).await?;
            pages += 1;
        }
    }

    /// A playlist's playable tracks, up to `max` (at most [`EXPAND_MAX`]), from
    /// `/v1/playlists/{id}/items`. Null, local and episode entries are skipped and counted.
    /// A playlist the user neither owns nor collaborates on is [`LibraryError::NotYours`].
    pub async fn playlist_tracks(
        &self,
        token: &SecretString,
        playlist_id: &str,
        max: usize,
    ) -> Result<Expanded, LibraryError> {
        if !valid_spotify_id(playlist_id) {
            return Err(LibraryError::Malformed);
        }
        let path = format!("/v1/playlists/{playlist_id}/items");
        self.expand(token, &path, max).await.map_err(|e| match e {
            LibraryError::Http(HttpError::Forbidden { .. }) => LibraryError::NotYours,
            other => other,
        })
    }

    /// The user's saved tracks (`/v1/me/tracks`), newest first, up to `max`.
    pub async fn liked(&self, token: &SecretString, max: usize) -> Result<Expanded, LibraryError> {
        self.expand(token, "/v1/me/tracks", max).await
    }

    /// What the user played lately on Spotify, newest first, each track once, at most
    /// `limit` (Spotify keeps 50).
    pub async fn recently_played(
        &self,
        token: &SecretString,
        limit: usize,
    ) -> Result<Vec<LibraryTrack>, LibraryError> {
        let limit = limit.min(LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Ask for all 50: repeats are dropped below, and the call costs the same.
        let page: Paging<Entry> = self
            .get(
                "/v1/me/player/recently-played",
                &[("limit", &LIMIT.to_string())],
                token,
            )
            .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(page
            .items
            .into_iter()
            .flatten()
            .filter_map(|e| e.item.or(e.track).and_then(library_track))
            .filter(|t| seen.insert(t.id.clone()))
            .take(limit)
            .collect())
    }

    /// The user's top tracks (medium term, Spotify's default), at most `limit` (≤ 50).
    pub async fn top_tracks(
        &self,
        token: &SecretString,
        limit: usize,
    ) -> Result<Vec<LibraryTrack>, LibraryError> {
        let limit = limit.min(LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let page: Paging<TrackObject> = self
            .get("/v1/me/top/tracks", &[("limit", &limit.to_string())], token)
            .await?;
        Ok(page
            .items
            .into_iter()
            .flatten()
            .filter_map(library_track)
            .take(limit)
            .collect())
    }

    async fn playlist_page(
        &self,
        token: &SecretString,
        offset: usize,
    ) -> Result<Paging<SimplePlaylist>, LibraryError> {
        self.get(
            "/v1/me/playlists",
            &[
                ("limit", &LIMIT.to_string()),
                ("offset", &offset.to_string()),
            ],
            token,
        )
        .await
    }

    /// Reads `path` 50 entries at a time until `max` tracks are taken, the entries run out,
    /// or [`PAGES_MAX`] pages have been read; never asks for a page it does not need.
    async fn expand(
        &self,
        token: &SecretString,
        path: &str,
        max: usize,
    ) -> Result<Expanded, LibraryError> {
        let max = max.min(EXPAND_MAX);
        let mut out = Expanded::default();
        let mut offset = 0;
        for _ in 0..PAGES_MAX {
            if out.tracks.len() >= max {
                break;
            }
            let page: Paging<Entry> = self
                .get(
                    path,
                    &[
                        ("limit", &LIMIT.to_string()),
                        ("offset", &offset.to_string()),
                    ],
                    token,
                )
                .await?;
            let read = page.items.len();
            for entry in page.items {
                if out.tracks.len() >= max {
                    break;
                }
                match entry
                    .and_then(|e| e.item.or(e.track))
                    .and_then(library_track)
                {
                    Some(track) => out.tracks.push(track),
                    None => out.skipped += 1,
                }
            }
            offset += read;
            if page.next.is_none() || read == 0 || offset >= OFFSET_MAX {
                break;
            }
        }
        Ok(out)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: &SecretString,
    ) -> Result<T, LibraryError> {
        super::get(
            &self.http,
            &self.base,
            Platform::Spotify,
            path,
            query,
            token,
        )
        .await
    }
}

/// A cursor we handed out: a decimal offset, no sign, no leading zeros beyond "0".
fn parse_offset(cursor: &str) -> Option<usize> {
    if cursor.is_empty()
        || cursor.len() > 6
        || !cursor.bytes().all(|b| b.is_ascii_digit())
        || (cursor.len() > 1 && cursor.starts_with('0'))
    {
        return None;
    }
    cursor.parse().ok().filter(|n| *n < OFFSET_MAX)
}

/// The playlist, if the user owns it or collaborates on it and it names a usable id.
fn readable_playlist(p: SimplePlaylist, me: &str) -> Option<Playlist> {
    let owned = p
        .owner
        .as_ref()
        .and_then(|o| o.id.as_deref())
        .is_some_and(|owner| owner == me);
    if !owned && p.collaborative != Some(true) {
        return None;
    }
    let id = p.id.filter(|id| valid_spotify_id(id))?;
    let tracks = p
        .items
        .and_then(|c| c.total)
        .or_else(|| p.tracks.and_then(|c| c.total))
        .unwrap_or(0);
    Some(Playlist {
        platform: Platform::Spotify,
        id,
        title: clean_title(p.name.as_deref()),
        tracks,
    })
}

/// A playable track, or `None` for a local file, an episode, or an entry with no usable id.
fn library_track(t: TrackObject) -> Option<LibraryTrack> {
    if t.is_local == Some(true) || t.kind.as_deref().is_some_and(|k| k != "track") {
        return None;
    }
    let id = t.id.filter(|id| valid_spotify_id(id))?;
    let artists: Vec<String> = t
        .artists
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|a| clean_name(a.name.as_deref()))
        .take(ARTISTS_MAX)
        .collect();
    let artist = clean_text(&artists.join(", "), TITLE_MAX);
    Some(LibraryTrack {
        platform: Platform::Spotify,
        id,
        title: clean_title(t.name.as_deref()),
        artist: (!artist.is_empty()).then_some(artist),
        duration_ms: t.duration_ms.filter(|ms| *ms > 0),
        isrc: clean_isrc(t.external_ids.as_ref().and_then(|e| e.isrc.as_deref())),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::stand::{Req, Stand};
    use super::*;

    const GOOD: &str = "BQD-good-token";
    const ME: &str = "timmy.user";
    const MINE: &str = "3cEYpjA9oz9GiPac4AsH4n";
    const FOREIGN: &str = "37i9dQZF1DXcBWIGoYBM5M";

    fn token(t: &str) -> SecretString {
        SecretString::from(t.to_owned())
    }

    fn lib(stand: &Stand) -> SpotifyLibrary {
        SpotifyLibrary::new(crate::http::client(), &stand.base)
    }

    fn offset(req: &Req) -> usize {
        req.q("offset").map_or(0, |o| o.parse().unwrap())
    }

    fn track_id(n: usize) -> String {
        format!("tr{n:020}")
    }

    fn track(n: usize) -> Value {
        json!({
            "id": track_id(n), "name": format!("Track {n}"), "duration_ms": 180_000 + n,
            "artists": [{"name": "Artist A"}, {"name": "Artist B"}],
            "external_ids": {"isrc": format!("USRC1{n:07}")},
            "is_local": false, "type": "track"
        })
    }

    /// A paging object over `len` entries made by `entry`, 50 at most per request.
    fn paging(req: &Req, len: usize, entry: impl Fn(usize) -> Value) -> (u16, Value) {
        let limit: usize = req.q("limit").map_or(20, |l| l.parse().unwrap());
        assert!(limit <= 50, "limit above 50 is a 400 at Spotify");
        let start = offset(req);
        let end = (start + limit).min(len);
        let items: Vec<Value> = (start..end).map(entry).collect();
        let next = (end < len).then(|| {
            format!(
                "https://api.spotify.com{}?offset={end}&limit={limit}",
                req.path
            )
        });
        (
            200,
            json!({"items": items, "next": next, "total": len, "limit": limit, "offset": start}),
        )
    }

    /// The 2026 Web API for one user: 401 for another token, `/tracks` closed.
    fn api(req: &Req, routes: impl FnOnce() -> (u16, Value)) -> (u16, Value) {
        if req.bearer.as_deref() != Some(GOOD) {
            return (
                401,
                json!({"error": {"status": 401, "message": "Invalid access token"}}),
            );
        }
        if req.path == "/v1/me" {
            return (200, json!({"id": ME, "display_name": "Timmy"}));
        }
        if req.path.ends_with("/tracks") && req.path.starts_with("/v1/playlists/") {
            return (
                403,
                json!({"error": {"status": 403, "message": "Forbidden"}}),
            );
        }
        routes()
    }

    /// 120 playlists: every third owned by the user, every fifth collaborative, the rest
    /// followed; ids encode the index. Counts under `items.total`, or `tracks.total` for odd ones.
    fn playlist_entry(n: usize) -> Value {
        let owner = if n % 3 == 0 { ME } else { "someone.else" };
        let mut p = json!({"id": format!("pl{n:020}"), "name": format!("List {n}"),
                           "owner": {"id": owner}, "collaborative": n % 5 == 1});
        if n % 2 == 0 {
            p["items"] = json!({"total": n});
        } else {
            p["tracks"] = json!({"total": n});
        }
        p
    }

    fn readable(n: usize) -> bool {
        n % 3 == 0 || n % 5 == 1
    }

    #[tokio::test]
    async fn me_reads_the_user_id() {
        let stand = Stand::start(|req| api(req, || (404, json!({})))).await;
        assert_eq!(lib(&stand).me(&token(GOOD)).await.unwrap(), ME);
    }

    #[tokio::test]
    async fn playlists_keep_only_owned_and_collaborative_across_pages() {
        let stand = Stand::start(|req| {
            api(req, || {
                assert_eq!(req.path, "/v1/me/playlists");
                assert_eq!(req.q("limit"), Some("50"));
                paging(req, 120, playlist_entry)
            })
        })
        .await;
        let sp = lib(&stand);
        let want: Vec<usize> = (0..120).filter(|n| readable(*n)).collect();
        assert!(want.len() > 50, "three caller pages");
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = sp.playlists(&token(GOOD), cursor.as_deref()).await.unwrap();
            assert!(page.items.len() <= PAGE_SIZE);
            got.extend(page.items);
            pages += 1;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let ids: Vec<String> = got.iter().map(|p| p.id.clone()).collect();
        let want_ids: Vec<String> = want.iter().map(|n| format!("pl{n:020}")).collect();
        assert_eq!(ids, want_ids);
        // The count is read from `items.total` or `tracks.total`, whichever is there.
        for (p, n) in got.iter().zip(&want) {
            assert_eq!(p.tracks as usize, *n);
            assert_eq!(p.title, format!("List {n}"));
            assert_eq!(p.platform, Platform::Spotify);
        }
        // Each caller page resumes at the first playlist it did not show (the 26th readable
        // one), reading only the Spotify pages it needs.
        let offsets: Vec<usize> = stand
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/me/playlists")
            .map(offset)
            .collect();
        assert_eq!(offsets, vec![0, 50, 54, 104, 106]);
        assert!(stand
            .requests()
            .iter()
            .all(|r| !r.raw_query.contains("good-token")));
    }

    #[tokio::test]
    async fn a_short_list_fits_one_page_with_its_total() {
        let stand = Stand::start(|req| api(req, || paging(req, 10, playlist_entry))).await;
        let page = lib(&stand).playlists(&token(GOOD), None).await.unwrap();
        let want = (0..10).filter(|n| readable(*n)).count();
        assert_eq!(page.items.len(), want);
        assert_eq!(page.total, Some(want as u32));
        assert_eq!(page.next, None);
        assert_eq!(stand.count("/v1/me/playlists"), 1);
        assert_eq!(stand.count("/v1/me"), 1);
    }

    #[tokio::test]
    async fn following_many_others_playlists_is_bounded_per_call() {
        // 1,000 playlists, none of them the user's: each call reads at most 4 pages.
        let stand = Stand::start(|req| {
            api(req, || {
                paging(req, 1_000, |n| {
                    json!({"id": format!("pl{n:020}"), "name": "x", "owner": {"id": "other"},
                           "collaborative": false, "items": {"total": 1}})
                })
            })
        })
        .await;
        let page = lib(&stand).playlists(&token(GOOD), None).await.unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next.as_deref(), Some("200"));
        assert_eq!(stand.count("/v1/me/playlists"), PLAYLIST_SCAN_PAGES);
    }

    #[tokio::test]
    async fn playlist_tracks_read_item_then_track_and_skip_null_local_and_episodes() {
        let stand = Stand::start(|req| {
            api(req, || {
                assert_eq!(req.path, format!("/v1/playlists/{MINE}/items"));
                let entries = json!([
                    {"added_at": "2026-01-01T00:00:00Z", "item": track(0)},
                    {"added_at": "2026-01-01T00:00:00Z", "track": track(1)},
                    {"added_at": "2026-01-01T00:00:00Z", "item": null},
                    {"added_at": "2026-01-01T00:00:00Z", "item": {"id": null, "name": "home demo", "is_local": true, "type": "track"}},
                    {"added_at": "2026-01-01T00:00:00Z", "item": {"id": "5ep1sode5ep1sode5ep1so", "name": "Pod", "type": "episode"}},
                    null,
                    {"added_at": "2026-01-01T00:00:00Z", "item": track(2), "track": track(9)},
                ]);
                (200, json!({"items": entries, "next": null, "total": 7}))
            })
        })
        .await;
        let got = lib(&stand)
            .playlist_tracks(&token(GOOD), MINE, 100)
            .await
            .unwrap();
        let ids: Vec<String> = got.tracks.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids, vec![track_id(0), track_id(1), track_id(2)]);
        assert_eq!(got.skipped, 4);
        assert_eq!(
            got.tracks[0],
            LibraryTrack {
                platform: Platform::Spotify,
                id: track_id(0),
                title: "Track 0".into(),
                artist: Some("Artist A, Artist B".into()),
                duration_ms: Some(180_000),
                isrc: Some("USRC10000000".into()),
            }
        );
        assert_eq!(stand.count(&format!("/v1/playlists/{MINE}/tracks")), 0);
    }

    #[tokio::test]
    async fn playlist_tracks_page_by_offset_and_respect_max() {
        let stand = Stand::start(|req| {
            api(req, || {
                paging(req, 130, |n| {
                    if n == 10 {
                        json!({"item": null})
                    } else {
                        json!({"item": track(n)})
                    }
                })
            })
        })
        .await;
        let sp = lib(&stand);
        let path = format!("/v1/playlists/{MINE}/items");

        let all = sp.playlist_tracks(&token(GOOD), MINE, 500).await.unwrap();
        assert_eq!(all.tracks.len(), 129);
        assert_eq!(all.skipped, 1);
        let offsets: Vec<usize> = stand.requests().iter().map(offset).collect();
        assert_eq!(offsets, vec![0, 50, 100]);

        // 49 fit in the first page even with the null one: one request.
        let got = sp.playlist_tracks(&token(GOOD), MINE, 49).await.unwrap();
        assert_eq!(got.tracks.len(), 49);
        assert_eq!(stand.count(&path), 4);
        // 50 do not, because one entry of the first 50 is null: a second request.
        let got = sp.playlist_tracks(&token(GOOD), MINE, 50).await.unwrap();
        assert_eq!(got.tracks.len(), 50);
        assert_eq!(got.tracks[49].id, track_id(50));
        assert_eq!(stand.count(&path), 6);
    }

    #[tokio::test]
    async fn someone_elses_playlist_is_not_yours() {
        let stand = Stand::start(|req| {
            api(req, || {
                if req.path == format!("/v1/playlists/{FOREIGN}/items") {
                    (
                        403,
                        json!({"error": {"status": 403, "message": "Forbidden"}}),
                    )
                } else {
                    (404, json!({}))
                }
            })
        })
        .await;
        let err = lib(&stand)
            .playlist_tracks(&token(GOOD), FOREIGN, 100)
            .await
            .unwrap_err();
        assert!(matches!(err, LibraryError::NotYours), "{err:?}");
        assert!(err.to_string().contains("own or collaborate"));
        assert_eq!(stand.requests().len(), 1);
    }

    #[tokio::test]
    async fn quota_429_is_quota_exceeded_and_a_plain_429_is_busy() {
        let stand = Stand::start(|req| {
            if req.path == "/v1/me/tracks" {
                (429, json!({"error": {"status": 429, "message": "quota", "reason": "QUOTA_EXCEEDED"}}))
            } else {
                (429, json!({"error": {"status": 429, "message": "API rate limit exceeded"}}))
            }
        })
        .await;
        let sp = lib(&stand);
        let err = sp.liked(&token(GOOD), 10).await.unwrap_err();
        assert!(
            matches!(
                err,
                LibraryError::QuotaExceeded {
                    platform: Platform::Spotify
                }
            ),
            "{err:?}"
        );
        let err = sp.top_tracks(&token(GOOD), 10).await.unwrap_err();
        assert!(
            matches!(
                err,
                LibraryError::Http(HttpError::RateLimited { quota: false, .. })
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_token_is_expired() {
        let stand =
            Stand::start(|req| api(req, || (200, json!({"items": [], "next": null})))).await;
        let sp = lib(&stand);
        let bad = token("BQD-revoked");
        assert!(matches!(sp.me(&bad).await, Err(LibraryError::Expired)));
        assert!(matches!(
            sp.playlists(&bad, None).await,
            Err(LibraryError::Expired)
        ));
        assert!(matches!(
            sp.playlist_tracks(&bad, MINE, 10).await,
            Err(LibraryError::Expired)
        ));
        assert!(matches!(
            sp.recently_played(&bad, 10).await,
            Err(LibraryError::Expired)
        ));
        assert!(sp.liked(&token(GOOD), 10).await.is_ok());
    }

    #[tokio::test]
    async fn liked_pages_through_saved_tracks() {
        let stand = Stand::start(|req| {
            api(req, || {
                assert_eq!(req.path, "/v1/me/tracks");
                paging(
                    req,
                    75,
                    |n| json!({"added_at": "2026-01-01T00:00:00Z", "track": track(n)}),
                )
            })
        })
        .await;
        let got = lib(&stand).liked(&token(GOOD), 1_000).await.unwrap();
        assert_eq!(got.tracks.len(), 75);
        assert_eq!(got.skipped, 0);
        assert_eq!(got.tracks[74].id, track_id(74));
        assert_eq!(stand.count("/v1/me/tracks"), 2);
    }

    #[tokio::test]
    async fn recently_played_is_newest_first_each_once() {
        let stand = Stand::start(|req| {
            api(req, || {
                assert_eq!(req.path, "/v1/me/player/recently-played");
                assert_eq!(req.q("limit"), Some("50"));
                let plays: Vec<Value> = [3, 3, 1, 3, 2, 0, 1]
                    .iter()
                    .map(|n| json!({"track": track(*n), "played_at": "2026-01-01T00:00:00Z"}))
                    .collect();
                (200, json!({"items": plays}))
            })
        })
        .await;
        let sp = lib(&stand);
        let got = sp.recently_played(&token(GOOD), 3).await.unwrap();
        let ids: Vec<String> = got.into_iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![track_id(3), track_id(1), track_id(2)]);
        assert!(sp
            .recently_played(&token(GOOD), 0)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(stand.requests().len(), 1);
    }

    #[tokio::test]
    async fn top_tracks_are_read_from_items() {
        let stand = Stand::start(|req| {
            api(req, || {
                assert_eq!(req.path, "/v1/me/top/tracks");
                let limit: usize = req.q("limit").unwrap().parse().unwrap();
                assert!(limit <= 50);
                let items: Vec<Value> = (0..limit).map(track).collect();
                (200, json!({"items": items}))
            })
        })
        .await;
        let sp = lib(&stand);
        let got = sp.top_tracks(&token(GOOD), 5).await.unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[4].id, track_id(4));
        let got = sp.top_tracks(&token(GOOD), 500).await.unwrap();
        assert_eq!(got.len(), 50);
    }

    #[tokio::test]
    async fn malformed_ids_and_cursors_are_refused_before_any_request() {
        let stand =
            Stand::start(|req| api(req, || (200, json!({"items": [], "next": null})))).await;
        let sp = lib(&stand);
        for id in ["", "abc/../../me", "abc?x=1", "a_b", &"a".repeat(33)] {
            assert!(matches!(
                sp.playlist_tracks(&token(GOOD), id, 10).await,
                Err(LibraryError::Malformed)
            ));
        }
        for cursor in ["", "-1", "01", "1e3", "x", "100000", "9999999"] {
            assert!(matches!(
                sp.playlists(&token(GOOD), Some(cursor)).await,
                Err(LibraryError::Malformed)
            ));
        }
        assert!(stand.requests().is_empty());
    }
}
