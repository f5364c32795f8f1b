//! The user's YouTube library through the Data API v3 (`youtube.readonly`): their playlists,
//! a playlist's videos, and the videos they liked. Each list call costs one quota unit of
//! the project's 10,000 a day, so callers cache lists ([`super::ListCache`]).

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use timmybot_domain::Platform;

use super::{
    base, clean_name, clean_title, valid_youtube_id, Expanded, LibraryError, LibraryTrack, Page,
    Playlist, CURSOR_MAX, EXPAND_MAX, PAGES_MAX, PAGE_SIZE,
};

/// The most items `playlistItems` and `videos` return per page.
const ITEMS_PER_PAGE: &str = "50";
/// What YouTube shows in place of a video the user can no longer play.
const GONE_TITLES: [&str; 2] = ["Deleted video", "Private video"];

#[derive(Debug, Clone)]
pub struct YoutubeLibrary {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct ListResponse<T> {
    #[serde(default = "Vec::new")]
    items: Vec<Option<T>>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
    #[serde(rename = "pageInfo")]
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(rename = "totalResults")]
    total_results: Option<u32>,
}

#[derive(Deserialize)]
struct PlaylistResource {
    id: Option<String>,
    snippet: Option<Snippet>,
    #[serde(rename = "contentDetails")]
    content_details: Option<PlaylistDetails>,
}

#[derive(Deserialize)]
struct PlaylistDetails {
    #[serde(rename = "itemCount")]
    item_count: Option<u32>,
}

#[derive(Deserialize)]
struct Snippet {
    title: Option<String>,
    #[serde(rename = "channelTitle")]
    channel_title: Option<String>,
    #[serde(rename = "videoOwnerChannelTitle")]
    video_owner_channel_title: Option<String>,
    #[serde(rename = "resourceId")]
    resource_id: Option<ResourceId>,
}

#[derive(Deserialize)]
struct ResourceId {
    #[serde(rename = "videoId")]
    video_id: Option<String>,
}

#[derive(Deserialize)]
struct PlaylistItem {
    snippet: Option<Snippet>,
    #[serde(rename = "contentDetails")]
    content_details: Option<ItemDetails>,
    status: Option<Status>,
}

#[derive(Deserialize)]
struct ItemDetails {
    #[serde(rename = "videoId")]
    video_id: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(rename = "privacyStatus")]
    privacy_status: Option<String>,
}

#[derive(Deserialize)]
struct Video {
    id: Option<String>,
    snippet: Option<Snippet>,
    #[serde(rename = "contentDetails")]
    content_details: Option<VideoDetails>,
}

#[derive(Deserialize)]
struct VideoDetails {
    duration: Option<String>,
}

impl YoutubeLibrary {
    /// `api_base` is `https://www.googleapis.com` (tests point it at a stand-in).
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self {
            http,
            base: base(api_base),
        }
    }

    /// The user's playlists, 25 a page; `cursor` is the `next` of the previous page.
    pub async fn playlists(
        &self,
        token: &SecretString,
        cursor: Option<&str>,
    ) -> Result<Page<Playlist>, LibraryError> {
        if cursor.is_some_and(|c| !valid_page_token(c)) {
            return Err(LibraryError::Malformed);
        }
        let per_page = PAGE_SIZE.to_string();
        let mut query = vec![
            ("part", "snippet,contentDetails"),
            ("mine", "true"),
            ("maxResults", per_page.as_str()),
        ];
        if let Some(cursor) = cursor {
            query.push(("pageToken", cursor));
        }
        let resp: ListResponse<PlaylistResource> =
            self.get("/youtube/v3/playlists", &query, token).await?;
        let items = resp
            .items
            .into_iter()
            .flatten()
            .take(PAGE_SIZE)
            .filter_map(|p| {
                let id = p.id.filter(|id| valid_youtube_id(id))?;
                Some(Playlist {
                    platform: Platform::Youtube,
                    id,
                    title: clean_title(p.snippet.as_ref().and_then(|s| s.title.as_deref())),
                    tracks: p.content_details.and_then(|d| d.item_count).unwrap_or(0),
                })
            })
            .collect();
        Ok(Page {
            items,
            next: next_token(resp.next_page_token),
            total: resp.page_info.and_then(|p| p.total_results),
        })
    }

    /// A playlist's playable videos, following pages until `max` (at most [`EXPAND_MAX`]).
    /// Private and deleted videos are skipped and counted.
    pub async fn playlist_tracks(
        &self,
        token: &SecretString,
        playlist_id: &str,
        max: usize,
    ) -> Result<Expanded, LibraryError> {
        if !valid_youtube_id(playlist_id) {
            return Err(LibraryError::Malformed);
        }
        self.expand(
            token,
            max,
            "/youtube/v3/playlistItems",
            &[
                ("part", "snippet,contentDetails,status"),
                ("playlistId", playlist_id),
                ("maxResults", ITEMS_PER_PAGE),
            ],
            playlist_item_track,
        )
        .await
    }

    /// The videos the user liked (`videos.list myRating=like`), newest first, up to `max`.
    pub async fn liked(&self, token: &SecretString, max: usize) -> Result<Expanded, LibraryError> {
        self.expand(
            token,
            max,
            "/youtube/v3/videos",
            &[
                ("part", "snippet,contentDetails"),
                ("myRating", "like"),
                ("maxResults", ITEMS_PER_PAGE),
            ],
            video_track,
        )
        .await
    }

    /// Follows `pageToken`s until `max` tracks are taken, the pages run out, or
    /// [`PAGES_MAX`] pages have been read; never asks for a page it does not need.
    async fn expand<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        max: usize,
        path: &str,
        query: &[(&str, &str)],
        to_track: fn(T) -> Option<LibraryTrack>,
    ) -> Result<Expanded, LibraryError> {
        let max = max.min(EXPAND_MAX);
        let mut out = Expanded::default();
        let mut page_token: Option<String> = None;
        for _ in 0..PAGES_MAX {
            if out.tracks.len() >= max {
                break;
            }
            let mut q = query.to_vec();
            if let Some(t) = &page_token {
                q.push(("pageToken", t.as_str()));
            }
            let resp: ListResponse<T> = self.get(path, &q, token).await?;
            for item in resp.items {
                if out.tracks.len() >= max {
                    break;
                }
                match item.and_then(to_track) {
                    Some(track) => out.tracks.push(track),
                    None => out.skipped += 1,
                }
            }
            match next_token(resp.next_page_token) {
                Some(t) => page_token = Some(t),
                None => break,
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
            Platform::Youtube,
            path,
            query,
            token,
        )
        .await
    }
}

/// A page token from YouTube is short and URL-safe; one that is not ends the paging rather
/// than travelling into a Discord custom id.
fn valid_page_token(token: &str) -> bool {
    (1..=CURSOR_MAX).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn next_token(token: Option<String>) -> Option<String> {
    let token = token?;
    if valid_page_token(&token) {
        Some(token)
    } else {
        tracing::warn!(
            len = token.len(),
            "YouTube sent a page token we cannot carry; stopping there"
        );
        None
    }
}

fn playlist_item_track(item: PlaylistItem) -> Option<LibraryTrack> {
    let privacy = item
        .status
        .as_ref()
        .and_then(|s| s.privacy_status.as_deref());
    // Deleted videos say privacyStatusUnspecified; private ones say private.
    if matches!(privacy, Some("private" | "privacyStatusUnspecified")) {
        return None;
    }
    let snippet = item.snippet?;
    let title = snippet.title.as_deref().unwrap_or_default().trim();
    if GONE_TITLES.contains(&title) {
        return None;
    }
    let id = item
        .content_details
        .and_then(|d| d.video_id)
        .or_else(|| snippet.resource_id.and_then(|r| r.video_id))
        .filter(|id| valid_youtube_id(id))?;
    Some(LibraryTrack {
        platform: Platform::Youtube,
        id,
        title: clean_title(Some(title)),
        artist: artist_from_channel(snippet.video_owner_channel_title.as_deref()),
        duration_ms: None,
        isrc: None,
    })
}

fn video_track(video: Video) -> Option<LibraryTrack> {
    let id = video.id.filter(|id| valid_youtube_id(id))?;
    let snippet = video.snippet?;
    Some(LibraryTrack {
        platform: Platform::Youtube,
        id,
        title: clean_title(snippet.title.as_deref()),
        artist: artist_from_channel(snippet.channel_title.as_deref()),
        duration_ms: video
            .content_details
            .and_then(|d| d.duration)
            .and_then(|d| parse_iso8601_duration_ms(&d)),
        isrc: None,
    })
}

/// YouTube Music's auto-generated channels are named "Artist - Topic"; the artist is the
/// useful part for matching and recommendations.
fn artist_from_channel(channel: Option<&str>) -> Option<String> {
    let channel = channel?.trim();
    clean_name(Some(channel.strip_suffix(" - Topic").unwrap_or(channel)))
}

/// An ISO-8601 duration as YouTube writes it (`PT3M33S`, `PT1H2M3S`, `P1DT2H`, `P1W`), in
/// milliseconds. `P0D` (a live stream) and anything malformed or absurd give `None`.
pub fn parse_iso8601_duration_ms(text: &str) -> Option<u64> {
    if text.len() > 40 {
        return None;
    }
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return None,
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let date_units: &[(char, u64)] = &[('W', 604_800), ('D', 86_400)];
    let time_units: &[(char, u64)] = &[('H', 3_600), ('M', 60), ('S', 1)];
    let mut seconds: u64 = 0;
    let mut any = false;
    for (part, units) in [(date, date_units), (time.unwrap_or_default(), time_units)] {
        let mut digits = String::new();
        // Units must come in order, each at most once.
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let at = units[next_unit..].iter().position(|(u, _)| *u == c)? + next_unit;
            next_unit = at + 1;
            let n: u64 = digits.parse().ok()?;
            digits.clear();
            seconds = seconds.checked_add(n.checked_mul(units[at].1)?)?;
            any = true;
        }
        if !digits.is_empty() {
            return None;
        }
    }
    if !any || seconds == 0 {
        return None;
    }
    seconds.checked_mul(1_000)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::stand::{Req, Stand};
    use super::*;

    const GOOD: &str = "ya29.good-token";

    fn token(t: &str) -> SecretString {
        SecretString::from(t.to_owned())
    }

    fn lib(stand: &Stand) -> YoutubeLibrary {
        YoutubeLibrary::new(crate::http::client(), &format!("{}/", stand.base))
    }

    /// Answers 401 unless the bearer is GOOD, the way Google does.
    fn authed(req: &Req, answer: impl FnOnce() -> (u16, Value)) -> (u16, Value) {
        if req.bearer.as_deref() == Some(GOOD) {
            answer()
        } else {
            (
                401,
                json!({"error": {"code": 401, "message": "Invalid Credentials"}}),
            )
        }
    }

    fn vid(n: usize) -> String {
        format!("vid{n:08}")
    }

    /// A playlist of `len` videos, 50 a page, where every 7th is private and every 11th deleted.
    fn playlist_items(req: &Req, len: usize) -> (u16, Value) {
        let start: usize = req
            .q("pageToken")
            .map(|t| t.trim_start_matches("p").parse().unwrap())
            .unwrap_or(0);
        let end = (start + 50).min(len);
        let items: Vec<Value> = (start..end)
            .map(|n| {
                let (title, privacy) = if n % 7 == 3 {
                    ("Private video", "private")
                } else if n % 11 == 5 {
                    ("Deleted video", "privacyStatusUnspecified")
                } else {
                    ("Song", "public")
                };
                json!({
                    "snippet": {
                        "title": title,
                        "videoOwnerChannelTitle": "Artist - Topic",
                        "resourceId": {"kind": "youtube#video", "videoId": vid(n)}
                    },
                    "contentDetails": {"videoId": vid(n)},
                    "status": {"privacyStatus": privacy}
                })
            })
            .collect();
        let mut body = json!({"items": items, "pageInfo": {"totalResults": len}});
        if end < len {
            body["nextPageToken"] = json!(format!("p{end}"));
        }
        (200, body)
    }

    fn playable(n: usize) -> bool {
        n % 7 != 3 && n % 11 != 5
    }

    #[test]
    fn durations_parse_iso8601() {
        assert_eq!(parse_iso8601_duration_ms("PT3M33S"), Some(213_000));
        assert_eq!(parse_iso8601_duration_ms("PT1H2M3S"), Some(3_723_000));
        assert_eq!(parse_iso8601_duration_ms("PT45S"), Some(45_000));
        assert_eq!(parse_iso8601_duration_ms("PT10M"), Some(600_000));
        assert_eq!(parse_iso8601_duration_ms("PT2H"), Some(7_200_000));
        assert_eq!(parse_iso8601_duration_ms("P1DT2H"), Some(93_600_000));
        assert_eq!(parse_iso8601_duration_ms("P1W"), Some(604_800_000));
        // A live stream has no duration.
        assert_eq!(parse_iso8601_duration_ms("P0D"), None);
        assert_eq!(parse_iso8601_duration_ms("PT0S"), None);
        for bad in [
            "",
            "P",
            "PT",
            "3M33S",
            "PT3X",
            "PT1H2",
            "PT3S2M",
            "PT1M1M",
            "PT1.5S",
            "P1M",
            "PT-1S",
            "PT99999999999999999999S",
            "PT9999999999999999H",
        ] {
            assert_eq!(parse_iso8601_duration_ms(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn playlists_page_with_page_tokens() {
        let stand = Stand::start(|req| {
            authed(req, || {
                assert_eq!(req.path, "/youtube/v3/playlists");
                assert_eq!(req.q("mine"), Some("true"));
                assert_eq!(req.q("part"), Some("snippet,contentDetails"));
                assert_eq!(req.q("maxResults"), Some("25"));
                let start = if req.q("pageToken") == Some("CBkQAA") { 25 } else { 0 };
                let end = (start + 25).min(30);
                let items: Vec<Value> = (start..end)
                    .map(|n| {
                        json!({"id": format!("PL{n:032}"), "snippet": {"title": format!("List {n}\n")},
                               "contentDetails": {"itemCount": n}})
                    })
                    .collect();
                let mut body = json!({"items": items, "pageInfo": {"totalResults": 30}});
                if end < 30 {
                    body["nextPageToken"] = json!("CBkQAA");
                }
                (200, body)
            })
        })
        .await;
        let yt = lib(&stand);
        let first = yt.playlists(&token(GOOD), None).await.unwrap();
        assert_eq!(first.items.len(), 25);
        assert_eq!(first.next.as_deref(), Some("CBkQAA"));
        assert_eq!(first.total, Some(30));
        assert_eq!(
            first.items[3],
            Playlist {
                platform: Platform::Youtube,
                id: format!("PL{:032}", 3),
                title: "List 3".into(),
                tracks: 3,
            }
        );
        let second = yt
            .playlists(&token(GOOD), first.next.as_deref())
            .await
            .unwrap();
        assert_eq!(second.items.len(), 5);
        assert_eq!(second.items[0].id, format!("PL{:032}", 25));
        assert_eq!(second.next, None);
        // The token went in the header, never the URL.
        let reqs = stand.requests();
        assert_eq!(reqs.len(), 2);
        assert!(reqs.iter().all(|r| !r.raw_query.contains("good-token")));
    }

    #[tokio::test]
    async fn playlist_tracks_follow_pages_and_skip_private_and_deleted() {
        let stand = Stand::start(|req| {
            authed(req, || {
                assert_eq!(req.path, "/youtube/v3/playlistItems");
                assert_eq!(req.q("playlistId"), Some("PLabc_-1"));
                assert_eq!(req.q("part"), Some("snippet,contentDetails,status"));
                playlist_items(req, 120)
            })
        })
        .await;
        let got = lib(&stand)
            .playlist_tracks(&token(GOOD), "PLabc_-1", 500)
            .await
            .unwrap();
        let want: Vec<String> = (0..120).filter(|n| playable(*n)).map(vid).collect();
        let ids: Vec<&str> = got.tracks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, want);
        assert_eq!(got.skipped, 120 - want.len());
        assert!(got.skipped > 0);
        assert_eq!(got.tracks[0].title, "Song");
        assert_eq!(got.tracks[0].artist.as_deref(), Some("Artist"));
        assert_eq!(stand.count("/youtube/v3/playlistItems"), 3);
    }

    #[tokio::test]
    async fn playlist_tracks_stop_at_max_without_extra_requests() {
        let stand = Stand::start(|req| authed(req, || playlist_items(req, 400))).await;
        let yt = lib(&stand);
        // Page 1 holds more than 30 playable videos: one request.
        let got = yt.playlist_tracks(&token(GOOD), "PL1", 30).await.unwrap();
        assert_eq!(got.tracks.len(), 30);
        assert_eq!(stand.requests().len(), 1);
        // 50 playable need a second page because some of the first 50 are skipped.
        let got = yt.playlist_tracks(&token(GOOD), "PL1", 50).await.unwrap();
        assert_eq!(got.tracks.len(), 50);
        assert_eq!(stand.requests().len(), 3);
        let last = stand.requests().pop().unwrap();
        assert_eq!(last.q("pageToken"), Some("p50"));
        // Nothing wanted, nothing asked.
        let got = yt.playlist_tracks(&token(GOOD), "PL1", 0).await.unwrap();
        assert!(got.tracks.is_empty());
        assert_eq!(stand.requests().len(), 3);
    }

    #[tokio::test]
    async fn a_next_page_token_forever_is_bounded() {
        let stand = Stand::start(|req| {
            authed(req, || {
                // Every page is full of private videos and says there is another.
                let items: Vec<Value> = (0..50)
                    .map(|_| json!({"snippet": {"title": "Private video"}, "status": {"privacyStatus": "private"}}))
                    .collect();
                (200, json!({"items": items, "nextPageToken": "again"}))
            })
        })
        .await;
        let got = lib(&stand)
            .playlist_tracks(&token(GOOD), "PL1", 10)
            .await
            .unwrap();
        assert!(got.tracks.is_empty());
        assert_eq!(got.skipped, 50 * PAGES_MAX);
        assert_eq!(stand.requests().len(), PAGES_MAX);
    }

    #[tokio::test]
    async fn liked_reads_durations_and_pages() {
        let stand = Stand::start(|req| {
            authed(req, || {
                assert_eq!(req.path, "/youtube/v3/videos");
                assert_eq!(req.q("myRating"), Some("like"));
                assert_eq!(req.q("part"), Some("snippet,contentDetails"));
                if req.q("pageToken") == Some("next1") {
                    (
                        200,
                        json!({"items": [
                            {"id": "bbbbbbbbbbb", "snippet": {"title": "Two", "channelTitle": "Band"},
                             "contentDetails": {"duration": "PT1H2M3S"}},
                            {"id": "bad id!", "snippet": {"title": "Broken"}},
                        ]}),
                    )
                } else {
                    (
                        200,
                        json!({"items": [
                            {"id": "aaaaaaaaaaa", "snippet": {"title": "One", "channelTitle": "Singer - Topic"},
                             "contentDetails": {"duration": "PT3M33S"}},
                            {"id": "lllllllllll", "snippet": {"title": "Live"},
                             "contentDetails": {"duration": "P0D"}},
                        ], "nextPageToken": "next1"}),
                    )
                }
            })
        })
        .await;
        let got = lib(&stand).liked(&token(GOOD), 100).await.unwrap();
        assert_eq!(got.tracks.len(), 3);
        assert_eq!(got.skipped, 1);
        assert_eq!(
            got.tracks[0],
            LibraryTrack {
                platform: Platform::Youtube,
                id: "aaaaaaaaaaa".into(),
                title: "One".into(),
                artist: Some("Singer".into()),
                duration_ms: Some(213_000),
                isrc: None,
            }
        );
        assert_eq!(got.tracks[1].duration_ms, None);
        assert_eq!(got.tracks[2].duration_ms, Some(3_723_000));
        assert_eq!(got.tracks[2].artist.as_deref(), Some("Band"));
        assert_eq!(stand.requests().len(), 2);
    }

    #[tokio::test]
    async fn quota_exceeded_is_reported() {
        let stand = Stand::start(|_| {
            (
                403,
                json!({"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your quota.",
                                 "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}}),
            )
        })
        .await;
        let yt = lib(&stand);
        for err in [
            yt.playlists(&token(GOOD), None).await.unwrap_err(),
            yt.playlist_tracks(&token(GOOD), "PL1", 10)
                .await
                .unwrap_err(),
            yt.liked(&token(GOOD), 10).await.unwrap_err(),
        ] {
            assert!(
                matches!(
                    err,
                    LibraryError::QuotaExceeded {
                        platform: Platform::Youtube
                    }
                ),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_token_is_expired() {
        let stand = Stand::start(|req| authed(req, || (200, json!({"items": []})))).await;
        let yt = lib(&stand);
        let bad = token("revoked");
        assert!(matches!(
            yt.playlists(&bad, None).await,
            Err(LibraryError::Expired)
        ));
        assert!(matches!(
            yt.liked(&bad, 5).await,
            Err(LibraryError::Expired)
        ));
        assert!(yt.playlists(&token(GOOD), None).await.is_ok());
    }

    #[tokio::test]
    async fn malformed_ids_and_cursors_are_refused_before_any_request() {
        let stand = Stand::start(|_| (200, json!({"items": []}))).await;
        let yt = lib(&stand);
        for id in ["", "PL1&mine=true", "../videos", &"a".repeat(65)] {
            assert!(matches!(
                yt.playlist_tracks(&token(GOOD), id, 10).await,
                Err(LibraryError::Malformed)
            ));
        }
        for cursor in ["", "a b", &"c".repeat(CURSOR_MAX + 1)] {
            assert!(matches!(
                yt.playlists(&token(GOOD), Some(cursor)).await,
                Err(LibraryError::Malformed)
            ));
        }
        assert!(stand.requests().is_empty());
    }
}
