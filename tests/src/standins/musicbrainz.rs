//! MusicBrainz's web service, the two look-ups recommendations use: recordings by ISRC and an
//! artist by name. It enforces what MusicBrainz asks of every client: a descriptive
//! User-Agent (403 without one naming TimmyBot) and at most one request a second (503 when
//! two arrive closer than [`MIN_GAP`], counted in [`MusicBrainz::too_fast`]). JSON only: a
//! request without `fmt=json` (or `Accept: application/json`) gets 400 here, where the real
//! service would answer XML.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::{lock, mbid, reply, Form, Server};

/// One second, less 20 ms so a client pacing itself at exactly 1 s is not refused for
/// loopback scheduling noise.
pub const MIN_GAP: Duration = Duration::from_millis(980);

struct Recording {
    isrc: String,
    title: String,
    artist: String,
}

#[derive(Default)]
struct MbState {
    recordings: Vec<Recording>,
    artists: Vec<String>,
    down: bool,
    instants: Vec<Instant>,
    too_fast: usize,
}

/// `GET /ws/2/isrc/{isrc}` and `GET /ws/2/artist?query=artist:"NAME"`.
pub struct MusicBrainz {
    state: Arc<Mutex<MbState>>,
    server: Server,
}

impl MusicBrainz {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(MbState::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (listener, _) = Server::bind().await;
        Self {
            state,
            server: Server::serve(listener, app),
        }
    }

    /// The base URL, for `MUSICBRAINZ_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A recording with this ISRC; its artist becomes findable by name too.
    pub fn add_recording(&self, isrc: &str, title: &str, artist: &str) {
        let mut s = lock(&self.state);
        s.recordings.push(Recording {
            isrc: isrc.to_owned(),
            title: title.to_owned(),
            artist: artist.to_owned(),
        });
        if !s.artists.iter().any(|a| a.eq_ignore_ascii_case(artist)) {
            s.artists.push(artist.to_owned());
        }
    }

    /// An artist findable by name, with no recording.
    pub fn add_artist(&self, name: &str) {
        let mut s = lock(&self.state);
        if !s.artists.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            s.artists.push(name.to_owned());
        }
    }

    /// The MBID the stand-in gives an artist (stable, derived from the name).
    pub fn artist_id(name: &str) -> String {
        mbid(&format!("artist:{}", name.to_lowercase()))
    }

    /// The MBID the stand-in gives a recording.
    pub fn recording_id(isrc: &str, title: &str) -> String {
        mbid(&format!("recording:{isrc}:{title}"))
    }

    /// Every request then answers 503.
    pub fn down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Requests refused for coming less than [`MIN_GAP`] after the one before.
    pub fn too_fast(&self) -> usize {
        lock(&self.state).too_fast
    }

    /// When each request arrived, answered or refused.
    pub fn request_instants(&self) -> Vec<Instant> {
        lock(&self.state).instants.clone()
    }

    pub fn requests(&self) -> usize {
        lock(&self.state).instants.len()
    }
}

fn mb_error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"error": message, "help": "For usage, please see: https://musicbrainz.org/development/mmd"}),
    )
}

/// The name in `artist:"NAME"` (or a bare `NAME`), Lucene escapes undone.
fn artist_name(query: &str) -> String {
    let q = query.trim();
    let q = q.strip_prefix("artist:").unwrap_or(q).trim();
    let q = q
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(q);
    let mut out = String::with_capacity(q.len());
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

async fn handle(
    State(state): State<Arc<Mutex<MbState>>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let now = Instant::now();
    let mut s = lock(&state);
    let previous = s.instants.last().copied();
    s.instants.push(now);
    if s.down {
        return mb_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The MusicBrainz web server is temporarily unavailable.",
        );
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !agent.contains("TimmyBot") {
        return mb_error(
            StatusCode::FORBIDDEN,
            "Please provide a meaningful User-Agent.",
        );
    }
    if previous.is_some_and(|p| now.duration_since(p) < MIN_GAP) {
        s.too_fast += 1;
        return mb_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Your requests are exceeding the allowable rate limit. Please see http://wiki.musicbrainz.org/XMLWebService for more information.",
        );
    }
    let path = uri.path().to_owned();
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    let wants_json = q.get("fmt") == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
    if !wants_json {
        return mb_error(
            StatusCode::BAD_REQUEST,
            "the stand-in answers JSON only: ask with fmt=json",
        );
    }
    if let Some(isrc) = path.strip_prefix("/ws/2/isrc/") {
        let recordings: Vec<Value> = s
            .recordings
            .iter()
            .filter(|r| r.isrc.eq_ignore_ascii_case(isrc))
            .map(|r| {
                json!({
                    "id": MusicBrainz::recording_id(&r.isrc, &r.title),
                    "title": r.title,
                    "artist-credit": [{
                        "name": r.artist,
                        "joinphrase": "",
                        "artist": {"id": MusicBrainz::artist_id(&r.artist), "name": r.artist, "sort-name": r.artist},
                    }],
                })
            })
            .collect();
        if recordings.is_empty() {
            return mb_error(StatusCode::NOT_FOUND, "Not Found");
        }
        return reply(
            StatusCode::OK,
            json!({"isrc": isrc, "recordings": recordings}),
        );
    }
    if path == "/ws/2/artist" {
        let Some(query) = q.get("query") else {
            return mb_error(StatusCode::BAD_REQUEST, "Invalid query");
        };
        let name = artist_name(query);
        let artists: Vec<Value> = s
            .artists
            .iter()
            .filter(|a| a.to_lowercase() == name.to_lowercase())
            .map(|a| json!({"id": MusicBrainz::artist_id(a), "name": a, "sort-name": a, "score": 100}))
            .collect();
        return reply(
            StatusCode::OK,
            json!({"created": "2026-03-31T00:00:00.000Z", "count": artists.len(), "offset": 0, "artists": artists}),
        );
    }
    mb_error(StatusCode::NOT_FOUND, "Not Found")
}
