//! ListenBrainz's LB Radio, `GET /1/explore/lb-radio?prompt=artist:(NAME)&mode=easy`: a JSPF
//! playlist of the recordings the test set for that artist (matched case-insensitively; an
//! unknown artist gets an empty playlist). `down` answers 503; `hang` holds every request
//! until it is lifted or the stand-in dropped, for deadline tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::{lock, mbid, reply, Form, Server};

struct RadioTrack {
    title: String,
    creator: String,
    duration_ms: Option<u64>,
}

#[derive(Default)]
struct LbState {
    radio: HashMap<String, Vec<RadioTrack>>,
    down: bool,
    requests: usize,
    prompts: Vec<String>,
}

struct Shared {
    lb: Mutex<LbState>,
    hang: watch::Receiver<bool>,
}

/// LB Radio.
pub struct ListenBrainz {
    shared: Arc<Shared>,
    hang: watch::Sender<bool>,
    server: Server,
}

impl ListenBrainz {
    pub async fn start() -> Self {
        let (hang, rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            lb: Mutex::new(LbState::default()),
            hang: rx,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (listener, _) = Server::bind().await;
        Self {
            shared,
            hang,
            server: Server::serve(listener, app),
        }
    }

    /// The base URL, for `LISTENBRAINZ_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The radio for `artist`: `(title, creator, duration_ms)`, in the order answered.
    pub fn set_radio(&self, artist: &str, tracks: Vec<(&str, &str, Option<u64>)>) {
        let tracks = tracks
            .into_iter()
            .map(|(title, creator, duration_ms)| RadioTrack {
                title: title.to_owned(),
                creator: creator.to_owned(),
                duration_ms,
            })
            .collect();
        lock(&self.shared.lb)
            .radio
            .insert(artist.to_lowercase(), tracks);
    }

    /// Every request then answers 503.
    pub fn down(&self, down: bool) {
        lock(&self.shared.lb).down = down;
    }

    /// Every request then waits, unanswered, until `hang(false)` (requests already waiting
    /// are released too) or the stand-in is dropped.
    pub fn hang(&self, hang: bool) {
        self.hang.send_replace(hang);
    }

    /// Requests so far, counted on arrival (a hanging one included).
    pub fn requests(&self) -> usize {
        lock(&self.shared.lb).requests
    }

    /// Each request's `prompt`, in order.
    pub fn prompts(&self) -> Vec<String> {
        lock(&self.shared.lb).prompts.clone()
    }
}

fn lb_error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({"code": status.as_u16(), "error": message}))
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    let prompt = q.get("prompt").unwrap_or_default().to_owned();
    {
        let mut lb = lock(&shared.lb);
        lb.requests += 1;
        lb.prompts.push(prompt.clone());
    }
    // A closed channel (the stand-in dropped) releases the request too.
    let mut hang = shared.hang.clone();
    let _ = hang.wait_for(|h| !*h).await;
    let lb = lock(&shared.lb);
    if lb.down {
        return lb_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ListenBrainz is temporarily unavailable",
        );
    }
    if path != "/1/explore/lb-radio" {
        return lb_error(StatusCode::NOT_FOUND, "Not found");
    }
    if !matches!(q.get("mode"), Some("easy" | "medium" | "hard")) {
        return lb_error(
            StatusCode::BAD_REQUEST,
            "mode must be one of easy, medium, hard",
        );
    }
    let Some(artist) = prompt
        .trim()
        .strip_prefix("artist:(")
        .and_then(|p| p.strip_suffix(')'))
    else {
        return lb_error(
            StatusCode::BAD_REQUEST,
            "the stand-in understands only prompt=artist:(NAME)",
        );
    };
    let tracks: Vec<Value> = lb
        .radio
        .get(&artist.to_lowercase())
        .map(|tracks| {
            tracks
                .iter()
                .map(|t| {
                    let mut v = json!({
                        "title": t.title,
                        "creator": t.creator,
                        "identifier": [format!(
                            "https://musicbrainz.org/recording/{}",
                            mbid(&format!("lb:{}:{}", t.creator, t.title))
                        )],
                    });
                    if let Some(ms) = t.duration_ms {
                        v["duration"] = json!(ms);
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({"payload": {
            "feedback": [],
            "jspf": {"playlist": {
                "title": format!("{artist} radio"),
                "creator": "ListenBrainz Troi",
                "track": tracks,
            }},
        }}),
    )
}
