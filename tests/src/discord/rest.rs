//! Discord's REST API, as much as TimmyBot calls: every call is recorded for assertions.
//! twilight-http reaches it through its proxy setting (`ClientBuilder::proxy(addr, true)`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use twilight_model::id::Id;
use twilight_model::voice::VoiceState;

/// One request as the fake saw it. The token itself is not kept: only whether it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub bot_auth: bool,
    pub body: Option<serde_json::Value>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// (guild, user) -> voice channel.
    voice: HashMap<(u64, u64), u64>,
}

#[derive(Clone, Default)]
pub struct FakeRest {
    inner: Arc<Mutex<Inner>>,
}

pub struct RunningRest {
    pub addr: SocketAddr,
    pub fake: FakeRest,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningRest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RunningRest {
    /// A twilight-http client that talks to this fake instead of Discord.
    pub fn client(&self) -> twilight_http::Client {
        timmybot_shared::tls::install_crypto_provider();
        twilight_http::Client::builder()
            .proxy(self.addr.to_string(), true)
            .token("Bot test-token".into())
            .build()
    }
}

impl FakeRest {
    pub async fn start() -> RunningRest {
        let fake = FakeRest::default();
        let app = Router::new()
            .route(
                "/api/v10/guilds/{guild}/voice-states/{user}",
                get(user_voice_state),
            )
            .route(
                "/api/v10/applications/{app}/commands",
                put(overwrite_commands),
            )
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                put(overwrite_commands),
            )
            .fallback(unknown)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake REST");
        let addr = listener.local_addr().expect("fake REST addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RunningRest { addr, fake, task }
    }

    /// Puts `user` in voice channel `channel` of `guild`, or takes them out with `None`.
    pub fn set_voice(&self, guild: u64, user: u64, channel: Option<u64>) {
        let mut inner = self.inner.lock().expect("fake REST lock");
        match channel {
            Some(c) => inner.voice.insert((guild, user), c),
            None => inner.voice.remove(&(guild, user)),
        };
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("fake REST lock").calls.clone()
    }

    fn record(&self, method: Method, uri: &Uri, headers: &HeaderMap) {
        self.record_body(method, uri, headers, None);
    }

    fn record_body(
        &self,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Option<serde_json::Value>,
    ) {
        let bot_auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bot "));
        self.inner.lock().expect("fake REST lock").calls.push(Call {
            method,
            path: uri.path().to_owned(),
            bot_auth,
            body,
        });
    }
}

/// Discord's JSON error body.
fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

async fn user_voice_state(
    State(fake): State<FakeRest>,
    Path((guild, user)): Path<(u64, u64)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(Method::GET, &uri, &headers);
    let channel = fake
        .inner
        .lock()
        .expect("fake REST lock")
        .voice
        .get(&(guild, user))
        .copied();
    let Some(channel) = channel else {
        return error(StatusCode::NOT_FOUND, 10065, "Unknown Voice State");
    };
    Json(VoiceState {
        channel_id: Some(Id::new(channel)),
        deaf: false,
        guild_id: Some(Id::new(guild)),
        member: None,
        mute: false,
        self_deaf: false,
        self_mute: false,
        self_stream: false,
        self_video: false,
        session_id: format!("session-{user}"),
        suppress: false,
        user_id: Id::new(user),
        request_to_speak_timestamp: None,
    })
    .into_response()
}

/// Bulk overwrite: Discord answers with the commands as stored, ids added.
async fn overwrite_commands(
    State(fake): State<FakeRest>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    fake.record_body(Method::PUT, &uri, &headers, Some(body.clone()));
    let mut stored = body;
    if let Some(commands) = stored.as_array_mut() {
        for (i, c) in commands.iter_mut().enumerate() {
            c["id"] = serde_json::json!((1_000 + i).to_string());
            c["application_id"] = serde_json::json!(uri.path().split('/').nth(4).unwrap_or("0"));
            c["version"] = serde_json::json!("1");
        }
    }
    Json(stored).into_response()
}

async fn unknown(
    State(fake): State<FakeRest>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(method, &uri, &headers);
    error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}
