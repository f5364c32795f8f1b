//! The engine against local stand-ins of MusicBrainz and ListenBrainz answering the documented
//! shapes, and its plain logic on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use timmybot_domain::{GuildId, Platform, TrackKey, UserId};

use super::*;

#[derive(Debug, Clone)]
struct Hit {
    at: std::time::Instant,
    path: String,
    query: HashMap<String, String>,
    user_agent: Option<String>,
}

impl Hit {
    fn q(&self, key: &str) -> &str {
        self.query.get(key).map_or("", String::as_str)
    }
}

/// `None`: the stand-in takes the request and never answers.
type Answer = dyn Fn(&Hit) -> Option<(u16, Value)> + Send + Sync;

/// Each stand-in's base has its own path prefix: limits and caches are per base URL for the
/// whole process, so a port the OS hands out again must not inherit an earlier test's cache.
static STANDS: AtomicUsize = AtomicUsize::new(0);

fn unique_prefix() -> String {
    format!("/stand{}", STANDS.fetch_add(1, Ordering::SeqCst))
}

struct Stand {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Stand {
    async fn start(answer: impl Fn(&Hit) -> Option<(u16, Value)> + Send + Sync + 'static) -> Self {
        let answer: Arc<Answer> = Arc::new(answer);
        let hits = Arc::new(Mutex::new(Vec::new()));
        let prefix = unique_prefix();
        let (seen, strip) = (hits.clone(), prefix.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (answer, seen, strip) = (answer.clone(), seen.clone(), strip.clone());
            async move {
                let hit = Hit {
                    at: std::time::Instant::now(),
                    path: uri
                        .path()
                        .strip_prefix(strip.as_str())
                        .unwrap_or(uri.path())
                        .to_owned(),
                    query: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect(),
                    user_agent: headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                };
                let reply = answer(&hit);
                seen.lock().unwrap().push(hit);
                match reply {
                    Some((status, body)) => {
                        let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                            .into_response();
                        if status == 429 {
                            resp.headers_mut()
                                .insert("retry-after", "30".parse().unwrap());
                        }
                        resp
                    }
                    None => std::future::pending::<Response>().await,
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}{prefix}"),
            hits,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// A base where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{}", unique_prefix())
}

/// MusicBrainz as documented: one known ISRC, a few known artists, 404 otherwise.
fn musicbrainz(hit: &Hit) -> Option<(u16, Value)> {
    const KNOWN: &[&str] = &["Adele", "Radiohead", "Massive Attack", "Portishead"];
    if let Some(isrc) = hit.path.strip_prefix("/ws/2/isrc/") {
        return Some(match isrc {
            "GBBKS1500214" => (
                200,
                json!({"isrc": isrc, "recordings": [{"id": "r1", "title": "Hello",
                    "artist-credit": [{"name": "Adele", "artist": {"id": "a1", "name": "Adele"}}]}]}),
            ),
            _ => (404, json!({"error": "Not Found"})),
        });
    }
    if hit.path == "/ws/2/artist" {
        let name = hit
            .q("query")
            .strip_prefix("artist:\"")
            .and_then(|q| q.strip_suffix('"'))
            .map(|q| q.replace('\\', ""))
            .unwrap_or_default();
        let artists = match KNOWN.iter().find(|k| **k == name) {
            Some(k) => json!([{"id": "a", "name": k, "score": 100}]),
            None => json!([{"id": "b", "name": "Somebody Else", "score": 42}]),
        };
        return Some((200, json!({"artists": artists})));
    }
    Some((404, json!({"error": "Not Found"})))
}

/// LB Radio as documented, for the artists above.
fn listenbrainz(hit: &Hit) -> Option<(u16, Value)> {
    let tracks: &[(&str, &str)] = match (hit.path.as_str(), hit.q("prompt"), hit.q("mode")) {
        ("/1/explore/lb-radio", "artist:(Adele)", "easy") => &[
            ("Adele", "Hello"),
            ("Amy Winehouse", "Rehab"),
            ("Duffy", "Mercy"),
            ("Sam Smith", "Stay With Me"),
            ("Adele", "Skyfall"),
        ],
        ("/1/explore/lb-radio", "artist:(Radiohead)", "easy") => &[
            ("Radiohead", "Creep"),
            ("Muse", "Uprising"),
            ("Portishead", "Roads"),
        ],
        ("/1/explore/lb-radio", "artist:(Massive Attack)", "easy") => {
            &[("Massive Attack", "Teardrop"), ("Tricky", "Overcome")]
        }
        ("/1/explore/lb-radio", "artist:(Portishead)", "easy") => {
            &[("Portishead", "Glory Box"), ("Björk", "Army of Me")]
        }
        _ => return Some((400, json!({"code": 400, "error": "unknown artist"}))),
    };
    let track: Vec<Value> = tracks
        .iter()
        .map(|(creator, title)| {
            json!({"title": title, "creator": creator, "duration": 210000,
                "identifier": ["https://musicbrainz.org/recording/8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"]})
        })
        .collect();
    Some((
        200,
        json!({"payload": {"jspf": {"playlist": {"track": track}}}}),
    ))
}

fn seed(title: &str, artist: Option<&str>, isrc: Option<&str>) -> Seed {
    Seed {
        title: title.into(),
        artist: artist.map(Into::into),
        isrc: isrc.map(Into::into),
    }
}

fn hello() -> Seed {
    seed("Hello", Some("Some Uploader"), Some("GBBKS1500214"))
}

fn play(at_ms: u64, title: &str, artist: Option<&str>) -> HistoryEntry {
    let source = format!("https://www.youtube.com/watch?v={at_ms}");
    HistoryEntry {
        guild_id: GuildId::new(1).unwrap(),
        played_at_ms: at_ms,
        track_key: TrackKey::new(Platform::Youtube, &at_ms.to_string()).unwrap(),
        requester: UserId::new(2).unwrap(),
        title: title.into(),
        artist: artist.map(Into::into),
        source,
    }
}

/// Newest first: a repeat, the seed itself, an excluded track and a duplicate among them.
fn history() -> Vec<HistoryEntry> {
    vec![
        play(9, "Teardrop", Some("Massive Attack")),
        play(8, "Skyfall (Official Video)", Some("AdeleVEVO")),
        play(7, "Hello", Some("Adele")),
        play(6, "Amy Winehouse - Rehab", None),
        play(5, "Skyfall", Some("Adele")),
        play(4, "Someone Like You", Some("Adele - Topic")),
        play(3, "Glory Box", Some("Portishead")),
    ]
}

fn titles(s: &Suggestions) -> Vec<&str> {
    s.items.iter().map(|i| i.title.as_str()).collect()
}

fn keys(s: &Suggestions) -> Vec<String> {
    s.items
        .iter()
        .map(|i| normalise(&i.artist, &i.title))
        .collect()
}

const LONG: Duration = Duration::from_secs(10);

// --- against the stand-ins ---

mod engine;
mod logic;
