//! The YouTube Data API v3 calls the library reads: `playlists` (mine), `playlistItems` and
//! `videos` (liked, or by id). Only bearer tokens the [`Google`] stand-in issued and has not
//! revoked or expired are accepted. One library serves every valid token.
//!
//! As YouTube does: `part` is required and only the parts asked for are answered;
//! `maxResults` is 0..=50 (default 5) and paging is by an opaque `nextPageToken`; a private
//! or deleted video stays in a playlist as "Private video" / "Deleted video", and is left out
//! of liked videos (so a page can hold fewer items than asked for).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::google::{Google, GoogleState};
use super::{bearer, lock, reply, Form, Server};

/// Whether a video can still be played, as a playlist item's `status.privacyStatus` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    Public,
    Unlisted,
    Private,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    pub id: String,
    pub title: String,
    pub channel: String,
    pub duration_s: u64,
    pub status: VideoStatus,
}

impl Video {
    pub fn new(id: &str, title: &str, channel: &str, duration_s: u64) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            channel: channel.to_owned(),
            duration_s,
            status: VideoStatus::Public,
        }
    }

    pub fn with_status(mut self, status: VideoStatus) -> Self {
        self.status = status;
        self
    }

    /// `n` public videos with 11-character ids `prefix` + zero-padded 1..=n, titled
    /// "`prefix` video i", 3 min + i s long.
    pub fn numbered(prefix: &str, n: usize) -> Vec<Video> {
        let width = 11usize.saturating_sub(prefix.len());
        (1..=n)
            .map(|i| {
                Video::new(
                    &format!("{prefix}{i:0width$}"),
                    &format!("{prefix} video {i}"),
                    "Stand-in Channel",
                    180 + i as u64,
                )
            })
            .collect()
    }

    fn playable(&self) -> bool {
        matches!(self.status, VideoStatus::Public | VideoStatus::Unlisted)
    }
}

struct Playlist {
    id: String,
    title: String,
    videos: Vec<Video>,
}

#[derive(Default)]
struct YtState {
    playlists: Vec<Playlist>,
    liked: Vec<Video>,
    quota_spent: bool,
    delay: Duration,
    hits: HashMap<String, usize>,
}

struct Shared {
    yt: Mutex<YtState>,
    google: Arc<Mutex<GoogleState>>,
}

/// `GET /youtube/v3/{playlists,playlistItems,videos}`.
pub struct YouTube {
    shared: Arc<Shared>,
    server: Server,
}

impl YouTube {
    /// Accepts the access tokens `google` issues.
    pub async fn start(google: &Google) -> Self {
        let shared = Arc::new(Shared {
            yt: Mutex::new(YtState::default()),
            google: google.state.clone(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (listener, _) = Server::bind().await;
        Self {
            shared,
            server: Server::serve(listener, app),
        }
    }

    /// The base URL, for `YOUTUBE_API_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The user's playlists: `(id, title, videos)`, in the order `playlists.list` lists them.
    pub fn set_playlists(&self, playlists: Vec<(&str, &str, Vec<Video>)>) {
        lock(&self.shared.yt).playlists = playlists
            .into_iter()
            .map(|(id, title, videos)| Playlist {
                id: id.to_owned(),
                title: title.to_owned(),
                videos,
            })
            .collect();
    }

    /// The user's liked videos, newest first.
    pub fn set_liked(&self, videos: Vec<Video>) {
        lock(&self.shared.yt).liked = videos;
    }

    /// Every call then answers 403 `quotaExceeded`, as when the project's 10,000 units are spent.
    pub fn exhaust_quota(&self, spent: bool) {
        lock(&self.shared.yt).quota_spent = spent;
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.yt).delay = delay;
    }

    /// Requests to `path` (e.g. `/youtube/v3/playlists`) so far, answered or refused.
    pub fn requests(&self, path: &str) -> usize {
        lock(&self.shared.yt).hits.get(path).copied().unwrap_or(0)
    }

    /// Requests to any path so far.
    pub fn total_requests(&self) -> usize {
        lock(&self.shared.yt).hits.values().sum()
    }
}

fn google_error(code: u16, reason: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    reply(
        status,
        json!({"error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "youtube", "reason": reason}],
        }}),
    )
}

/// ISO 8601, as `contentDetails.duration`: `PT3M33S`, `PT1H2M3S`, `PT0S`.
fn iso_duration(s: u64) -> String {
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    if s > 0 || (h == 0 && m == 0) {
        out += &format!("{s}S");
    }
    out
}

/// Which parts to answer, from `part` (required).
struct Parts(Vec<String>);

impl Parts {
    fn has(&self, part: &str) -> bool {
        self.0.iter().any(|p| p == part)
    }
}

/// A refusal: status, reason, message (a `Response` is too big to pass around in a `Result`).
type Refusal = (u16, &'static str, &'static str);

/// `(offset, count)` from `pageToken` and `maxResults`.
fn paging(q: &Form) -> Result<(usize, usize), Refusal> {
    let count = match q.get("maxResults") {
        None => 5,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= 50 => n,
            _ => {
                return Err((
                    400,
                    "invalidParameter",
                    "Invalid value for maxResults. Values must be within the range: [0, 50]",
                ))
            }
        },
    };
    let offset = match q.get("pageToken") {
        None | Some("") => 0,
        Some(t) => match t.strip_prefix("CAUQ").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return Err((
                    400,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                ))
            }
        },
    };
    Ok((offset, count))
}

/// The page's bounds, and the token for the next page when there is one.
fn window(offset: usize, count: usize, total: usize) -> (usize, usize, Option<String>) {
    let start = offset.min(total);
    let end = (start + count).min(total);
    (
        start,
        end,
        (count > 0 && end < total).then(|| format!("CAUQ{end}")),
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let delay = {
        let mut yt = lock(&shared.yt);
        *yt.hits.entry(path.clone()).or_default() += 1;
        yt.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let scope =
        bearer(&headers).and_then(|t| lock(&shared.google).access_scope(&t).map(str::to_owned));
    let Some(scope) = scope else {
        return google_error(
            401,
            "authError",
            "Request had invalid authentication credentials.",
        );
    };
    if !scope
        .split(' ')
        .any(|s| s.starts_with("https://www.googleapis.com/auth/youtube"))
    {
        return google_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        );
    }
    let yt = lock(&shared.yt);
    if yt.quota_spent {
        return google_error(
            403,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
        );
    }
    if method != Method::GET {
        return google_error(405, "methodNotAllowed", "Only GET is served here.");
    }
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    let Some(parts) = q.get("part").filter(|p| !p.is_empty()) else {
        return google_error(400, "required", "Required parameter: part");
    };
    let parts = Parts(parts.split(',').map(|p| p.trim().to_owned()).collect());
    match path.as_str() {
        "/youtube/v3/playlists" => playlists(&yt, &q, &parts),
        "/youtube/v3/playlistItems" => playlist_items(&yt, &q, &parts),
        "/youtube/v3/videos" => videos(&yt, &q, &parts),
        _ => google_error(404, "notFound", "Not Found"),
    }
}

fn playlists(yt: &YtState, q: &Form, parts: &Parts) -> Response {
    if q.get("mine") != Some("true") {
        return google_error(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: mine, id, channelId",
        );
    }
    let (offset, count) = match paging(q) {
        Ok(p) => p,
        Err((code, reason, message)) => return google_error(code, reason, message),
    };
    let total = yt.playlists.len();
    let (start, end, next) = window(offset, count, total);
    let items: Vec<Value> = yt.playlists[start..end]
        .iter()
        .map(|p| {
            let mut item = json!({"kind": "youtube#playlist", "id": p.id});
            if parts.has("snippet") {
                item["snippet"] = json!({"title": p.title, "channelTitle": "Stand-in User"});
            }
            if parts.has("contentDetails") {
                item["contentDetails"] = json!({"itemCount": p.videos.len()});
            }
            item
        })
        .collect();
    page(items, next, total)
}

fn page(items: Vec<Value>, next: Option<String>, total: usize) -> Response {
    let per_page = items.len();
    let mut body = json!({
        "kind": "youtube#listResponse",
        "items": items,
        "pageInfo": {"totalResults": total, "resultsPerPage": per_page},
    });
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    reply(StatusCode::OK, body)
}

fn playlist_items(yt: &YtState, q: &Form, parts: &Parts) -> Response {
    let Some(id) = q.get("playlistId") else {
        return google_error(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: id, playlistId",
        );
    };
    let Some(list) = yt.playlists.iter().find(|p| p.id == id) else {
        return google_error(
            404,
            "playlistNotFound",
            "The playlist identified with the request's playlistId parameter cannot be found.",
        );
    };
    let (offset, count) = match paging(q) {
        Ok(p) => p,
        Err((code, reason, message)) => return google_error(code, reason, message),
    };
    let total = list.videos.len();
    let (start, end, next) = window(offset, count, total);
    let items: Vec<Value> = list.videos[start..end]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (title, privacy) = match v.status {
                VideoStatus::Public => (v.title.as_str(), "public"),
                VideoStatus::Unlisted => (v.title.as_str(), "unlisted"),
                VideoStatus::Private => ("Private video", "private"),
                VideoStatus::Deleted => ("Deleted video", "privacyStatusUnspecified"),
            };
            let mut item =
                json!({"kind": "youtube#playlistItem", "id": format!("{id}.{}", start + i)});
            if parts.has("snippet") {
                let mut snippet = json!({
                    "playlistId": id,
                    "position": start + i,
                    "title": title,
                    "resourceId": {"kind": "youtube#video", "videoId": v.id},
                });
                // YouTube names no owner for a video it no longer shows.
                if v.playable() {
                    snippet["videoOwnerChannelTitle"] = json!(v.channel);
                }
                item["snippet"] = snippet;
            }
            if parts.has("contentDetails") {
                item["contentDetails"] = json!({"videoId": v.id});
            }
            if parts.has("status") {
                item["status"] = json!({"privacyStatus": privacy});
            }
            item
        })
        .collect();
    page(items, next, total)
}

fn video_json(v: &Video, parts: &Parts) -> Value {
    let mut item = json!({"kind": "youtube#video", "id": v.id});
    if parts.has("snippet") {
        item["snippet"] = json!({"title": v.title, "channelTitle": v.channel});
    }
    if parts.has("contentDetails") {
        item["contentDetails"] = json!({"duration": iso_duration(v.duration_s)});
    }
    if parts.has("status") {
        let privacy = if v.status == VideoStatus::Unlisted {
            "unlisted"
        } else {
            "public"
        };
        item["status"] = json!({"privacyStatus": privacy});
    }
    item
}

fn videos(yt: &YtState, q: &Form, parts: &Parts) -> Response {
    if let Some(ids) = q.get("id") {
        let ids: Vec<&str> = ids.split(',').filter(|i| !i.is_empty()).collect();
        if ids.len() > 50 {
            return google_error(400, "invalidParameter", "At most 50 ids per request.");
        }
        let known = yt
            .liked
            .iter()
            .chain(yt.playlists.iter().flat_map(|p| p.videos.iter()));
        let mut found: Vec<&Video> = Vec::new();
        for v in known.filter(|v| v.playable() && ids.contains(&v.id.as_str())) {
            if !found.iter().any(|f| f.id == v.id) {
                found.push(v);
            }
        }
        let items: Vec<Value> = found.iter().map(|v| video_json(v, parts)).collect();
        let total = items.len();
        return page(items, None, total);
    }
    if q.get("myRating") != Some("like") {
        return google_error(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: id, myRating, chart",
        );
    }
    let (offset, count) = match paging(q) {
        Ok(p) => p,
        Err((code, reason, message)) => return google_error(code, reason, message),
    };
    let total = yt.liked.len();
    let (start, end, next) = window(offset, count, total);
    let items: Vec<Value> = yt.liked[start..end]
        .iter()
        .filter(|v| v.playable())
        .map(|v| video_json(v, parts))
        .collect();
    page(items, next, total)
}
