//! LRCLIB's open API as documented at lrclib.net/docs: `GET /api/get` by `artist_name`,
//! `track_name` and `duration` (±2 s, as LRCLIB matches), `GET /api/get/{id}`, and
//! `GET /api/search?q=` (every word in the artist or title, case-insensitive). A miss is 404
//! `{"code":404,"name":"TrackNotFound",...}`; `down` answers 503.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::{lock, reply, Form, Server};

#[derive(Clone)]
pub struct Song {
    pub id: u64,
    pub title: String,
    pub artist: String,
    pub duration_s: u64,
    pub plain: Option<String>,
    pub synced: Option<String>,
}

#[derive(Default)]
struct LrclibState {
    songs: Vec<Song>,
    down: bool,
    paths: Vec<String>,
}

pub struct Lrclib {
    state: Arc<Mutex<LrclibState>>,
    server: Server,
}

impl Lrclib {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(LrclibState::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (listener, _) = Server::bind().await;
        Self {
            state,
            server: Server::serve(listener, app),
        }
    }

    /// The base URL, for `LRCLIB_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn add(&self, song: Song) {
        lock(&self.state).songs.push(song);
    }

    pub fn down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Each request's path, in order.
    pub fn paths(&self) -> Vec<String> {
        lock(&self.state).paths.clone()
    }
}

fn record(s: &Song) -> Value {
    json!({
        "id": s.id, "trackName": s.title, "artistName": s.artist, "albumName": "",
        "duration": s.duration_s as f64, "instrumental": s.plain.is_none() && s.synced.is_none(),
        "plainLyrics": s.plain, "syncedLyrics": s.synced,
    })
}

fn not_found() -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"}),
    )
}

async fn handle(State(state): State<Arc<Mutex<LrclibState>>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    let mut s = lock(&state);
    s.paths.push(path.clone());
    if s.down {
        return reply(StatusCode::SERVICE_UNAVAILABLE, json!({"code": 503}));
    }
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    if let Some(id) = path.strip_prefix("/api/get/") {
        return match s.songs.iter().find(|x| x.id.to_string() == id) {
            Some(song) => reply(StatusCode::OK, record(song)),
            None => not_found(),
        };
    }
    match path.as_str() {
        "/api/get" => {
            let (Some(artist), Some(title)) = (q.get("artist_name"), q.get("track_name")) else {
                return reply(StatusCode::BAD_REQUEST, json!({"code": 400}));
            };
            let duration: Option<u64> = q.get("duration").and_then(|d| d.parse().ok());
            let hit = s.songs.iter().find(|x| {
                same(&x.artist, artist)
                    && same(&x.title, title)
                    && duration.is_none_or(|d| x.duration_s.abs_diff(d) <= 2)
            });
            match hit {
                Some(song) => reply(StatusCode::OK, record(song)),
                None => not_found(),
            }
        }
        "/api/search" => {
            let words: Vec<String> = q
                .get("q")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_lowercase)
                .collect();
            if words.is_empty() {
                return reply(StatusCode::BAD_REQUEST, json!({"code": 400}));
            }
            let hits: Vec<Value> = s
                .songs
                .iter()
                .filter(|x| {
                    let hay = format!("{} {}", x.artist, x.title).to_lowercase();
                    words.iter().all(|w| hay.contains(w.as_str()))
                })
                .map(record)
                .collect();
            reply(StatusCode::OK, Value::Array(hits))
        }
        _ => not_found(),
    }
}
