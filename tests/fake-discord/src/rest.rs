//! Discord's REST API, as much as TimmyBot calls: every call is recorded for assertions.
//! twilight-http reaches it through its proxy setting (`ClientBuilder::proxy(addr, true)`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
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

/// A message as a person would see it: its text, and each embed's title and description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    pub id: u64,
    pub content: String,
    pub embeds: Vec<String>,
    /// Edits after the first version.
    pub edits: usize,
    /// Only the person who used the command sees it (message flag 64).
    pub ephemeral: bool,
    /// The message's rows of components, as sent.
    pub components: Vec<serde_json::Value>,
    /// When the latest version arrived.
    pub updated_at: Option<std::time::Instant>,
}

impl Shown {
    /// The text, then each embed on its own line, as a chat client would show them.
    pub fn render(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if !self.content.is_empty() {
            parts.push(&self.content);
        }
        parts.extend(self.embeds.iter().map(String::as_str));
        parts.join("\n")
    }

    fn apply(&mut self, body: &serde_json::Value) {
        if let Some(content) = body.get("content").and_then(|c| c.as_str()) {
            content.clone_into(&mut self.content);
        }
        if let Some(embeds) = body.get("embeds").and_then(|e| e.as_array()) {
            self.embeds = embeds.iter().map(embed_text).collect();
        }
        if let Some(flags) = body.get("flags").and_then(|f| f.as_u64()) {
            self.ephemeral = flags & EPHEMERAL != 0;
        }
        if let Some(rows) = body.get("components").and_then(|c| c.as_array()) {
            self.components.clone_from(rows);
        }
        self.updated_at = Some(std::time::Instant::now());
    }
}

fn embed_text(embed: &serde_json::Value) -> String {
    let field = |k: &str| embed.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    [field("title"), field("description")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" — ")
}

/// Interaction response types (Discord's docs): 4 message, 5 deferred message.
pub const CALLBACK_MESSAGE: u64 = 4;
pub const CALLBACK_DEFERRED: u64 = 5;
/// The message flag for "only you can see this".
pub const EPHEMERAL: u64 = 1 << 6;

#[derive(Default)]
pub(crate) struct Inner {
    calls: Vec<Call>,
    /// (guild, user) -> voice channel.
    voice: HashMap<(u64, u64), u64>,
    /// Interaction token -> the reply, as first sent and then edited.
    originals: HashMap<String, Shown>,
    /// Interaction token -> the callback's response type.
    callbacks: HashMap<String, u64>,
    /// Channel -> messages the bot posted there.
    channels: HashMap<u64, Vec<Shown>>,
    next_id: u64,
    /// The global commands as last overwritten.
    global_commands: Option<serde_json::Value>,
    /// How far the `Date` header is off true time, in seconds (a skewed clock to test).
    date_skew_secs: i64,
    /// The application `GET /applications/@me` names, when not the bot's own.
    application_id: Option<u64>,
    /// What `GET /gateway/bot` answers: (recommended shards, max_concurrency).
    gateway_bot: Option<(u32, u16)>,
    /// Users, guilds, roles and members: whom OAuth2 logs in and the guild endpoints answer.
    pub(crate) directory: crate::guilds::Directory,
    /// OAuth2 codes and tokens.
    pub(crate) grants: crate::oauth::Grants,
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
    /// The settings that point a bot's REST client here instead of Discord.
    pub fn env(&self) -> Vec<(String, String)> {
        use timmybot_config::names::env;
        [
            (env::DISCORD_TOKEN, crate::TOKEN.to_owned()),
            (
                env::DISCORD_APPLICATION_ID,
                crate::FakeDiscord::BOT.to_string(),
            ),
            (env::DISCORD_REST_PROXY, self.addr.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

impl FakeRest {
    pub async fn start() -> RunningRest {
        // Clients built next to it (twilight's, reqwest's TLS configs) need the process's
        // provider: with both of rustls's in the tree, rustls will not guess.
        timmybot_config::tls::install_crypto_provider();
        let fake = FakeRest::default();
        let app = Router::new()
            .route(
                "/api/v10/guilds/{guild}/voice-states/{user}",
                get(user_voice_state),
            )
            .route(
                "/api/v10/applications/{app}/commands",
                put(overwrite_commands).get(global_commands),
            )
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                put(overwrite_commands),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                axum::routing::post(interaction_callback),
            )
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/@original",
                axum::routing::patch(edit_original),
            )
            .route(
                "/api/v10/channels/{channel}/messages",
                axum::routing::post(create_message),
            )
            .route(
                "/api/v10/channels/{channel}/messages/{message}",
                axum::routing::patch(edit_message),
            )
            .route(
                "/api/v10/users/@me/channels",
                axum::routing::post(create_dm),
            )
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/applications/@me", get(current_application))
            .merge(crate::oauth::routes())
            .merge(crate::guilds::routes())
            .fallback(unknown)
            .layer(axum::middleware::from_fn_with_state(fake.clone(), record))
            .layer(axum::middleware::from_fn_with_state(fake.clone(), date))
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

    /// Sets the `Date` header `skew` seconds off true time.
    pub fn skew_clock(&self, skew_secs: i64) {
        self.lock().date_skew_secs = skew_secs;
    }

    /// Answers `GET /applications/@me` with `id` instead of the bot's own.
    pub fn set_application_id(&self, id: u64) {
        self.lock().application_id = Some(id);
    }

    pub(crate) fn application_id(&self) -> u64 {
        self.lock()
            .application_id
            .unwrap_or(crate::FakeDiscord::BOT)
    }

    /// Makes `GET /gateway/bot` recommend `shards` shards and allow `max_concurrency`
    /// identify buckets (one and one until this is called).
    pub fn set_gateway_bot(&self, shards: u32, max_concurrency: u16) {
        self.lock().gateway_bot = Some((shards, max_concurrency));
    }

    /// Puts `user` in voice channel `channel` of `guild`, or takes them out with `None`.
    pub fn set_voice(&self, guild: u64, user: u64, channel: Option<u64>) {
        let mut inner = self.inner.lock().expect("fake REST lock");
        match channel {
            Some(c) => inner.voice.insert((guild, user), c),
            None => inner.voice.remove(&(guild, user)),
        };
    }

    /// Takes an interaction response, as Discord does from the callback endpoint or from a
    /// webhook's HTTP answer: the reply then exists for the bot to edit. Discord acknowledges
    /// an interaction once; a second time returns `false`.
    pub fn acknowledge(&self, token: &str, response: &serde_json::Value) -> bool {
        let kind = response.get("type").and_then(|t| t.as_u64()).unwrap_or(0);
        let mut inner = self.lock();
        if inner.callbacks.contains_key(token) {
            return false;
        }
        inner.callbacks.insert(token.to_owned(), kind);
        if kind == CALLBACK_MESSAGE || kind == CALLBACK_DEFERRED {
            let mut shown = Shown {
                id: Self::next_message_id(&mut inner),
                ..Shown::default()
            };
            if let Some(data) = response.get("data") {
                shown.apply(data);
            }
            inner.originals.insert(token.to_owned(), shown);
        }
        true
    }

    /// The reply to the interaction with this token, as it stands now.
    pub fn reply(&self, token: &str) -> Option<Shown> {
        self.lock().originals.get(token).cloned()
    }

    /// The response type the interaction's callback used (4 message, 5 deferred, ...).
    pub fn callback_type(&self, token: &str) -> Option<u64> {
        self.lock().callbacks.get(token).copied()
    }

    /// What the bot posted in `channel`, oldest first, as it stands now.
    pub fn channel_messages(&self, channel: u64) -> Vec<Shown> {
        self.lock()
            .channels
            .get(&channel)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the reply to `token` satisfies `pred`, or panics after `timeout`.
    pub async fn wait_reply(
        &self,
        token: &str,
        timeout: std::time::Duration,
        pred: impl Fn(&Shown) -> bool,
    ) -> Shown {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(shown) = self.reply(token).filter(|s| pred(s)) {
                return shown;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "the reply never got there within {timeout:?}; it is {:?}",
                    self.reply(token)
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake REST lock")
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("fake REST lock").calls.clone()
    }

    /// The next id for a message the bot sends.
    fn next_message_id(inner: &mut Inner) -> u64 {
        inner.next_id += 1;
        9_000 + inner.next_id
    }
}

/// Records every request before its handler runs: method, path, whether the bot token was
/// sent (never the token itself), and a JSON body if there is one. Bodies are bounded.
async fn record(
    State(fake): State<FakeRest>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, 0, "request entity too large");
    };
    let bot_auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bot "));
    fake.lock().calls.push(Call {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        bot_auth,
        body: serde_json::from_slice(&bytes).ok(),
    });
    next.run(axum::extract::Request::from_parts(parts, bytes.into()))
        .await
}

/// Discord dates every response; `timmybot doctor` checks its clock against it.
async fn date(
    State(fake): State<FakeRest>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let skew = fake.lock().date_skew_secs;
    let mut response = next.run(request).await;
    let now = std::time::SystemTime::now();
    let at = if skew >= 0 {
        now + std::time::Duration::from_secs(skew.unsigned_abs())
    } else {
        now - std::time::Duration::from_secs(skew.unsigned_abs())
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&httpdate(at)) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// An HTTP date (RFC 9110's IMF-fixdate), as Discord's servers send it.
fn httpdate(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {h:02}:{m:02}:{s:02} GMT")
}

/// Whether the request carries the bot's own token.
pub(crate) fn authorized(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", crate::TOKEN))
}

pub(crate) fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
}

async fn current_application(
    State(fake): State<FakeRest>,
    headers: axum::http::HeaderMap,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let id = fake.application_id();
    Json(serde_json::json!({
        "id": id.to_string(), "name": "TimmyBot", "icon": null, "description": "",
        "bot_public": true, "bot_require_code_grant": false, "verify_key": "0",
        "flags": 0, "team": null, "summary": "",
    }))
    .into_response()
}

async fn global_commands(State(fake): State<FakeRest>) -> Response {
    Json(
        fake.lock()
            .global_commands
            .clone()
            .unwrap_or_else(|| serde_json::json!([])),
    )
    .into_response()
}

/// Discord's JSON error body.
pub(crate) fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

async fn user_voice_state(
    State(fake): State<FakeRest>,
    Path((guild, user)): Path<(u64, u64)>,
) -> Response {
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
    Path(params): Path<Vec<(String, String)>>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let app = params
        .iter()
        .find(|(k, _)| k == "app")
        .map_or("0", |(_, v)| v.as_str());
    let mut stored = body;
    if let Some(commands) = stored.as_array_mut() {
        for (i, c) in commands.iter_mut().enumerate() {
            c["id"] = serde_json::json!((1_000 + i).to_string());
            c["application_id"] = serde_json::json!(app);
            c["version"] = serde_json::json!("1");
        }
    }
    if !params.iter().any(|(k, _)| k == "guild") {
        fake.lock().global_commands = Some(stored.clone());
    }
    Json(stored).into_response()
}

async fn unknown() -> Response {
    error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}

/// A twilight-model Message for the bot's own message, as Discord returns it.
fn message(id: u64, channel: u64, shown: &Shown) -> Response {
    let message: Result<twilight_model::channel::Message, _> =
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(),
            "channel_id": channel.max(1).to_string(),
            "author": {
                "id": "1", "username": "TimmyBot", "discriminator": "0000",
                "avatar": null, "bot": true,
            },
            "content": shown.content,
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
            "flags": 0,
        }));
    match message {
        Ok(m) => Json(m).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 0, &e.to_string()),
    }
}

async fn interaction_callback(
    State(fake): State<FakeRest>,
    Path((_id, token)): Path<(u64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if fake.acknowledge(&token, &body) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        )
    }
}

async fn edit_original(
    State(fake): State<FakeRest>,
    Path((_app, token)): Path<(u64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut inner = fake.lock();
    edit(inner.originals.get_mut(&token), &body, 0)
}

/// An edit of a message the bot sent, as Discord answers it; 404 for one it never sent.
fn edit(found: Option<&mut Shown>, body: &serde_json::Value, channel: u64) -> Response {
    let Some(shown) = found else {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    };
    shown.apply(body);
    shown.edits += 1;
    message(shown.id, channel, shown)
}

async fn create_message(
    State(fake): State<FakeRest>,
    Path(channel): Path<u64>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut inner = fake.lock();
    let mut shown = Shown {
        id: FakeRest::next_message_id(&mut inner),
        ..Shown::default()
    };
    shown.apply(&body);
    inner
        .channels
        .entry(channel)
        .or_default()
        .push(shown.clone());
    message(shown.id, channel, &shown)
}

async fn edit_message(
    State(fake): State<FakeRest>,
    Path((channel, id)): Path<(u64, u64)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut inner = fake.lock();
    let found = inner
        .channels
        .get_mut(&channel)
        .and_then(|msgs| msgs.iter_mut().find(|m| m.id == id));
    edit(found, &body, channel)
}

/// The DM channel with a user: the same user always gets the same channel.
pub fn dm_channel_of(user: u64) -> u64 {
    // Far from any id a test picks for a guild's channel.
    user ^ (1 << 62)
}

async fn create_dm(Json(body): Json<serde_json::Value>) -> Response {
    let Some(user) = body
        .get("recipient_id")
        .and_then(|r| r.as_str())
        .and_then(|r| r.parse::<u64>().ok())
    else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    Json(serde_json::json!({
        "id": dm_channel_of(user).to_string(),
        "type": 1,
        "last_message_id": null,
        "recipients": [{
            "id": user.to_string(), "username": "member", "discriminator": "0",
            "avatar": null, "global_name": null,
        }],
    }))
    .into_response()
}

/// The recommended shards and identify limits. Clients with a proxy URL ignore the URL.
async fn gateway_bot(State(fake): State<FakeRest>) -> Response {
    let (shards, max_concurrency) = fake.lock().gateway_bot.unwrap_or((1, 1));
    Json(serde_json::json!({
        "url": "wss://gateway.invalid",
        "shards": shards,
        "session_start_limit": {
            "total": 1000, "remaining": 1000, "reset_after": 0,
            "max_concurrency": max_concurrency,
        },
    }))
    .into_response()
}
