//! Spotify's accounts service (`GET /authorize`, `POST /api/token`) and Web API as it
//! stands for a Development-Mode app since March 2026, on two servers sharing one state
//! (so a client that mixes up the two bases is caught).
//!
//! Accounts: `/authorize` approves at once, as a user pressing Agree (or refuses, when the
//! test says so), for the user [`Spotify::set_me`] names. It requires PKCE (S256) and refuses
//! an `http` redirect to anything but a loopback IP literal, as Spotify has since 2025 (no
//! `localhost`). A code is good for one exchange, attempted or not, with the same
//! `redirect_uri` and a verifier whose BASE64URL-NOPAD(SHA256) is the challenge. A rotated
//! refresh token replaces the old one, which then answers `invalid_grant`.
//!
//! Web API: user tokens work everywhere they have the scope for; the client-credentials
//! token only for `/v1/tracks/{id}`, `/v1/albums/{id}/tracks` and playlist metadata.
//! `/v1/playlists/{id}/tracks` and `/v1/tracks?ids=` answer 403, as they do now;
//! `/v1/playlists/{id}/items` answers the new shape (the track under `item`, no `track`) and
//! 403 for a playlist the caller neither owns nor collaborates on. `/v1/me/playlists` lists
//! every playlist added, someone else's included (as followed ones are), so the client must
//! filter. Every paged route takes `limit` 0..=50 (else 400) and `offset`, and links `next`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::{basic, bearer, lock, reply, secret, Form, Server};

pub const CLIENT_ID: &str = "5f4dcc3b5aa765d61d8327deb882cf99";
pub const CLIENT_SECRET: &str = "standin0spotify0client0secret000";
/// Every scope linking asks for; [`Spotify::mint`] grants them all.
pub const SCOPES: &str = "playlist-read-private playlist-read-collaborative user-library-read user-read-recently-played user-top-read";
pub const ACCESS_EXPIRES_IN: u64 = 3600;
/// `Retry-After` on a spent quota.
pub const QUOTA_RETRY_AFTER_S: u64 = 3600;
/// When no `limit` is given, as Spotify's default.
const DEFAULT_LIMIT: usize = 20;

/// A track as the stand-in holds it. An empty `id` stands for an entry Spotify can no longer
/// show: a playlist answers it as `"item": null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpTrack {
    pub id: String,
    pub name: String,
    pub artist: String,
    pub duration_ms: u64,
    pub isrc: Option<String>,
}

impl SpTrack {
    pub fn new(id: &str, name: &str, artist: &str, duration_ms: u64, isrc: Option<&str>) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            artist: artist.to_owned(),
            duration_ms,
            isrc: isrc.map(str::to_owned),
        }
    }

    /// `n` tracks with 22-character ids `prefix` + zero-padded 1..=n, named "`prefix`
    /// track i" by "`prefix` Artist", 3 min + i s long, each with an ISRC.
    pub fn numbered(prefix: &str, n: usize) -> Vec<SpTrack> {
        let width = 22usize.saturating_sub(prefix.len());
        (1..=n)
            .map(|i| SpTrack {
                id: format!("{prefix}{i:0width$}"),
                name: format!("{prefix} track {i}"),
                artist: format!("{prefix} Artist"),
                duration_ms: (180 + i as u64) * 1000,
                isrc: Some(format!("QZES6{i:07}")),
            })
            .collect()
    }

    /// An entry Spotify answers as `null` (removed from Spotify, or a local file).
    pub fn unavailable() -> Self {
        Self::new("", "", "", 0, None)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpPlaylist {
    pub id: String,
    pub name: String,
    /// The owner's user id; the token's user may read the items only if it is theirs...
    pub owner: String,
    /// ...or if it is collaborative (the token's user counts as a collaborator).
    pub collaborative: bool,
    pub tracks: Vec<SpTrack>,
}

/// One `GET /authorize` as it arrived (fields empty when absent). Not `Debug`.
#[derive(Clone)]
pub struct Authorization {
    pub client_id: String,
    pub response_type: String,
    pub redirect_uri: String,
    pub state: String,
    pub scope: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

/// One Web API request: its path, query and bearer token. Not `Debug`: it holds the token.
#[derive(Clone)]
pub struct ApiCall {
    pub path: String,
    pub query: String,
    pub bearer: Option<String>,
}

struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    user: String,
    used: bool,
}

struct Access {
    /// `None` for the app's client-credentials token.
    user: Option<String>,
    scope: String,
    valid: bool,
}

struct Refresh {
    user: String,
    scope: String,
    valid: bool,
}

struct SpState {
    api_base: String,
    deny: bool,
    rotate: bool,
    quota: bool,
    delay: Duration,
    authorizations: Vec<Authorization>,
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    token_requests: usize,
    forms: Vec<Form>,
    issued: Vec<String>,
    me: String,
    playlists: Vec<SpPlaylist>,
    albums: Vec<(String, Vec<SpTrack>)>,
    tracks: Vec<SpTrack>,
    liked: Vec<SpTrack>,
    recent: Vec<SpTrack>,
    top: Vec<SpTrack>,
    calls: Vec<ApiCall>,
}

impl SpState {
    fn issue_access(&mut self, user: Option<&str>, scope: &str) -> String {
        let token = secret("BQ", 100);
        self.access.insert(
            token.clone(),
            Access {
                user: user.map(str::to_owned),
                scope: scope.to_owned(),
                valid: true,
            },
        );
        self.issued.push(token.clone());
        token
    }

    fn issue_refresh(&mut self, user: &str, scope: &str) -> String {
        let token = secret("AQ", 120);
        self.refresh.insert(
            token.clone(),
            Refresh {
                user: user.to_owned(),
                scope: scope.to_owned(),
                valid: true,
            },
        );
        self.issued.push(token.clone());
        token
    }

    fn track(&self, id: &str) -> Option<&SpTrack> {
        let lists = self.playlists.iter().flat_map(|p| p.tracks.iter());
        let albums = self.albums.iter().flat_map(|(_, t)| t.iter());
        let mut all = self.tracks.iter().chain(lists).chain(albums);
        all.find(|t| !t.id.is_empty() && t.id == id).or_else(|| {
            self.liked
                .iter()
                .chain(&self.recent)
                .chain(&self.top)
                .find(|t| !t.id.is_empty() && t.id == id)
        })
    }
}

/// Spotify's accounts service and Web API.
pub struct Spotify {
    state: Arc<Mutex<SpState>>,
    accounts: Server,
    api: Server,
}

impl Spotify {
    pub async fn start() -> Self {
        let (api_listener, api_base) = Server::bind().await;
        let state = Arc::new(Mutex::new(SpState {
            api_base,
            deny: false,
            rotate: false,
            quota: false,
            delay: Duration::ZERO,
            authorizations: Vec::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            token_requests: 0,
            forms: Vec::new(),
            issued: Vec::new(),
            me: "standin-user".to_owned(),
            playlists: Vec::new(),
            albums: Vec::new(),
            tracks: Vec::new(),
            liked: Vec::new(),
            recent: Vec::new(),
            top: Vec::new(),
            calls: Vec::new(),
        }));
        let api = Server::serve(
            api_listener,
            Router::new().fallback(web_api).with_state(state.clone()),
        );
        let (listener, _) = Server::bind().await;
        let accounts = Server::serve(
            listener,
            Router::new().fallback(accounts).with_state(state.clone()),
        );
        Self {
            state,
            accounts,
            api,
        }
    }

    /// The accounts service's base URL, for `SPOTIFY_ACCOUNTS_URL`.
    pub fn accounts_url(&self) -> String {
        self.accounts.url()
    }

    /// The Web API's base URL, for `SPOTIFY_API_URL`.
    pub fn api_url(&self) -> String {
        self.api.url()
    }

    // ---- accounts ----

    /// `/authorize` then redirects with `error=access_denied`, as when the user cancels.
    pub fn deny(&self, deny: bool) {
        lock(&self.state).deny = deny;
    }

    /// Refresh grants then issue a new refresh token and retire the old one.
    pub fn rotate_refresh(&self, rotate: bool) {
        lock(&self.state).rotate = rotate;
    }

    /// The refresh token then answers `invalid_grant` (revoked, or past Spotify's 6 months).
    pub fn revoke_refresh(&self, refresh_token: &str) {
        if let Some(r) = lock(&self.state).refresh.get_mut(refresh_token) {
            r.valid = false;
        }
    }

    /// The access token then gets 401, as one past its hour does.
    pub fn expire_access(&self, access_token: &str) {
        if let Some(a) = lock(&self.state).access.get_mut(access_token) {
            a.valid = false;
        }
    }

    /// Issues `user`'s tokens without the redirect, with every scope: `(access, refresh)`.
    pub fn mint(&self, user: &str) -> (String, String) {
        let mut s = lock(&self.state);
        let access = s.issue_access(Some(user), SCOPES);
        let refresh = s.issue_refresh(user, SCOPES);
        (access, refresh)
    }

    /// The user an access or refresh token belongs to (`None` for the app's token or an
    /// unknown one).
    pub fn user_of(&self, token: &str) -> Option<String> {
        let s = lock(&self.state);
        s.access
            .get(token)
            .and_then(|a| a.user.clone())
            .or_else(|| s.refresh.get(token).map(|r| r.user.clone()))
    }

    /// Every `GET /authorize`, in order.
    pub fn authorizations(&self) -> Vec<Authorization> {
        lock(&self.state).authorizations.clone()
    }

    /// `POST /api/token` requests so far, of every grant.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).token_requests
    }

    /// Every form posted to `/api/token`, in order.
    pub fn forms(&self) -> Vec<Form> {
        lock(&self.state).forms.clone()
    }

    /// Every code, access token and refresh token handed out.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.state).issued.clone()
    }

    // ---- the library ----

    /// The user who approves the next `/authorize` (default `standin-user`).
    pub fn set_me(&self, user_id: &str) {
        lock(&self.state).me = user_id.to_owned();
    }

    /// Adds a playlist (replacing one with the same id) to `/v1/me/playlists`.
    pub fn add_playlist(&self, playlist: SpPlaylist) {
        let mut s = lock(&self.state);
        s.playlists.retain(|p| p.id != playlist.id);
        s.playlists.push(playlist);
    }

    /// An album for `/v1/albums/{id}/tracks` (whose tracks carry no ISRC there).
    pub fn add_album(&self, id: &str, tracks: Vec<SpTrack>) {
        let mut s = lock(&self.state);
        s.albums.retain(|(a, _)| a != id);
        s.albums.push((id.to_owned(), tracks));
    }

    /// A track `/v1/tracks/{id}` knows (every track set anywhere else is known too).
    pub fn add_track(&self, track: SpTrack) {
        lock(&self.state).tracks.push(track);
    }

    /// Saved tracks, newest first.
    pub fn set_liked(&self, tracks: Vec<SpTrack>) {
        lock(&self.state).liked = tracks;
    }

    /// Recently played, newest first.
    pub fn set_recent(&self, tracks: Vec<SpTrack>) {
        lock(&self.state).recent = tracks;
    }

    pub fn set_top(&self, tracks: Vec<SpTrack>) {
        lock(&self.state).top = tracks;
    }

    /// Every Web API call then answers 429 `QUOTA_EXCEEDED` with `Retry-After`.
    pub fn quota_exceeded(&self, spent: bool) {
        lock(&self.state).quota = spent;
    }

    /// Every Web API answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Web API requests to `path` (e.g. `/v1/me/playlists`) so far, answered or refused.
    pub fn requests(&self, path: &str) -> usize {
        lock(&self.state)
            .calls
            .iter()
            .filter(|c| c.path == path)
            .count()
    }

    /// Every Web API request, in order, with the bearer token it used.
    pub fn calls(&self) -> Vec<ApiCall> {
        lock(&self.state).calls.clone()
    }

    /// The bearer tokens requests to `path` used, in order.
    pub fn bearers(&self, path: &str) -> Vec<Option<String>> {
        lock(&self.state)
            .calls
            .iter()
            .filter(|c| c.path == path)
            .map(|c| c.bearer.clone())
            .collect()
    }
}

// ---- accounts ----

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    reply(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Spotify shows a page, not a redirect, for a client or redirect it cannot trust.
fn page(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_owned()).into_response()
}

async fn accounts(
    State(state): State<Arc<Mutex<SpState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let mut s = lock(&state);
    match (method, path.as_str()) {
        (Method::GET, "/authorize") => {
            authorize(&mut s, &Form::parse(&path, uri.query().unwrap_or_default()))
        }
        (Method::POST, "/api/token") => {
            s.token_requests += 1;
            let form = Form::parse(&path, &String::from_utf8_lossy(&body));
            s.forms.push(form.clone());
            token(&mut s, &headers, &form)
        }
        _ => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}

/// Spotify allows plain `http` only to a loopback IP literal.
fn redirect_allowed(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]")),
        "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        _ => false,
    }
}

fn authorize(s: &mut SpState, q: &Form) -> Response {
    let field = |k: &str| q.get(k).unwrap_or_default().to_owned();
    let auth = Authorization {
        client_id: field("client_id"),
        response_type: field("response_type"),
        redirect_uri: field("redirect_uri"),
        state: field("state"),
        scope: field("scope"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
    };
    s.authorizations.push(auth.clone());
    if auth.client_id != CLIENT_ID {
        return page("INVALID_CLIENT: Invalid client");
    }
    let Ok(mut to) = reqwest::Url::parse(&auth.redirect_uri) else {
        return page("INVALID_CLIENT: Invalid redirect URI");
    };
    if !redirect_allowed(&to) {
        return page("INVALID_CLIENT: Insecure redirect URI");
    }
    if auth.response_type != "code" {
        return page("unsupported_response_type");
    }
    // Only PKCE: a client that forgets the challenge would be sending a secret-less code.
    if auth.code_challenge_method != "S256" || auth.code_challenge.is_empty() {
        return page("INVALID_REQUEST: code_challenge_method must be S256 with a code_challenge");
    }
    if s.deny {
        to.query_pairs_mut().append_pair("error", "access_denied");
    } else {
        let code = secret("AQD", 140);
        s.codes.insert(
            code.clone(),
            Code {
                client_id: auth.client_id.clone(),
                redirect_uri: auth.redirect_uri.clone(),
                challenge: auth.code_challenge.clone(),
                scope: auth.scope.clone(),
                user: s.me.clone(),
                used: false,
            },
        );
        s.issued.push(code.clone());
        to.query_pairs_mut().append_pair("code", &code);
    }
    if !auth.state.is_empty() {
        to.query_pairs_mut().append_pair("state", &auth.state);
    }
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// RFC 7636: 43 to 128 unreserved characters.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn token(s: &mut SpState, headers: &HeaderMap, form: &Form) -> Response {
    let basic = basic(headers);
    let client = match &basic {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => Some(id.clone()),
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client"),
        None => form
            .get("client_id")
            .filter(|id| *id == CLIENT_ID)
            .map(str::to_owned),
    };
    match form.get("grant_type") {
        Some("authorization_code") => {
            let Some(client) = client else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            };
            let Some(code) = form.get("code").and_then(|c| s.codes.get_mut(c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            };
            // Single use: even a failed attempt spends it.
            if std::mem::replace(&mut code.used, true) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            }
            if code.client_id != client {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            if form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid redirect URI",
                );
            }
            let verifier = form.get("code_verifier").unwrap_or_default();
            if !verifier_well_formed(verifier) || challenge_of(verifier) != code.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code_verifier was incorrect",
                );
            }
            let (user, scope) = (code.user.clone(), code.scope.clone());
            let access = s.issue_access(Some(&user), &scope);
            let refresh = s.issue_refresh(&user, &scope);
            reply(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "token_type": "Bearer",
                    "scope": scope,
                    "expires_in": ACCESS_EXPIRES_IN,
                    "refresh_token": refresh,
                }),
            )
        }
        Some("refresh_token") => {
            if client.is_none() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            let old = form.get("refresh_token").unwrap_or_default().to_owned();
            let Some((user, scope)) = s
                .refresh
                .get(&old)
                .filter(|r| r.valid)
                .map(|r| (r.user.clone(), r.scope.clone()))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            };
            let access = s.issue_access(Some(&user), &scope);
            let mut body = json!({
                "access_token": access,
                "token_type": "Bearer",
                "scope": scope,
                "expires_in": ACCESS_EXPIRES_IN,
            });
            if s.rotate {
                if let Some(r) = s.refresh.get_mut(&old) {
                    r.valid = false;
                }
                body["refresh_token"] = json!(s.issue_refresh(&user, &scope));
            }
            reply(StatusCode::OK, body)
        }
        Some("client_credentials") => {
            if basic.is_none() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            let access = s.issue_access(None, "");
            reply(
                StatusCode::OK,
                json!({"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_EXPIRES_IN}),
            )
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be one Spotify knows",
        ),
    }
}

// ---- Web API ----

/// A refusal, made into Spotify's error body at the edge (a `Response` is too big to pass
/// around in a `Result`).
struct Refusal(StatusCode, &'static str);

fn refuse(status: StatusCode, message: &'static str) -> Refusal {
    Refusal(status, message)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        api_error(self.0, self.1)
    }
}

fn api_error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"error": {"status": status.as_u16(), "message": message}}),
    )
}

fn track_json(t: &SpTrack) -> Value {
    if t.id.is_empty() {
        return Value::Null;
    }
    let mut v = simple_track_json(t);
    v["external_ids"] = t.isrc.as_ref().map_or(json!({}), |i| json!({"isrc": i}));
    v
}

/// An album's tracks are "simplified": no `external_ids`, so no ISRC.
fn simple_track_json(t: &SpTrack) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "duration_ms": t.duration_ms,
        "artists": [{"name": t.artist, "type": "artist"}],
        "is_local": false,
        "type": "track",
        "uri": format!("spotify:track:{}", t.id),
    })
}

/// `(offset, limit)`: `limit` 0..=50.
fn paging(q: &Form) -> Result<(usize, usize), Refusal> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= 50 => n,
            _ => return Err(refuse(StatusCode::BAD_REQUEST, "Invalid limit")),
        },
    };
    let offset = match q.get("offset") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Invalid offset"))?,
    };
    Ok((offset, limit))
}

/// The items of one page, and the page's envelope (`next`, `total`, ...).
fn paged<T>(base: &str, path: &str, q: &Form, all: &[T], f: impl Fn(&T) -> Value) -> Response {
    let (offset, limit) = match paging(q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let total = all.len();
    let start = offset.min(total);
    let end = (start + limit).min(total);
    let next =
        (limit > 0 && end < total).then(|| format!("{base}{path}?offset={end}&limit={limit}"));
    let previous = (start > 0).then(|| {
        format!(
            "{base}{path}?offset={}&limit={limit}",
            start.saturating_sub(limit)
        )
    });
    reply(
        StatusCode::OK,
        json!({
            "href": format!("{base}{path}?offset={offset}&limit={limit}"),
            "items": all[start..end].iter().map(f).collect::<Vec<_>>(),
            "limit": limit,
            "offset": offset,
            "total": total,
            "next": next,
            "previous": previous,
        }),
    )
}

/// The token's user, or the 401 Spotify gives an app token on a user route.
fn user_of(grant: &Access) -> Result<&str, Refusal> {
    grant.user.as_deref().ok_or_else(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "Valid user authentication required",
        )
    })
}

fn need_scope(grant: &Access, scope: &str) -> Result<(), Refusal> {
    if grant.scope.split(' ').any(|s| s == scope) {
        Ok(())
    } else {
        Err(refuse(StatusCode::FORBIDDEN, "Insufficient client scope"))
    }
}

/// Whether the caller owns the playlist or collaborates on it (the 2026 rule for items).
fn may_read(grant: &Access, p: &SpPlaylist) -> bool {
    grant
        .user
        .as_deref()
        .is_some_and(|u| u == p.owner || p.collaborative)
}

fn playlist_json(p: &SpPlaylist, base: &str, with_items: bool) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "owner": {"id": p.owner, "display_name": p.owner, "type": "user"},
        "collaborative": p.collaborative,
        "public": !p.collaborative,
        "type": "playlist",
        "uri": format!("spotify:playlist:{}", p.id),
    });
    if with_items {
        v["items"] =
            json!({"href": format!("{base}/v1/playlists/{}/items", p.id), "total": p.tracks.len()});
    }
    v
}

/// A stand-in timestamp, `minutes_ago` before 2026-03-31T23:59Z.
fn timestamp(minutes_ago: usize) -> String {
    let m = minutes_ago.min(30 * 24 * 60 - 1);
    let (day, rest) = (31 - m / (24 * 60), m % (24 * 60));
    format!(
        "2026-03-{day:02}T{:02}:{:02}:00Z",
        23 - rest / 60,
        59 - rest % 60
    )
}

async fn web_api(
    State(state): State<Arc<Mutex<SpState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let token = bearer(&headers);
    let delay = {
        let mut s = lock(&state);
        s.calls.push(ApiCall {
            path: path.clone(),
            query: uri.query().unwrap_or_default().to_owned(),
            bearer: token.clone(),
        });
        s.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let s = lock(&state);
    let Some(grant) = token.as_deref().and_then(|t| s.access.get(t)) else {
        return api_error(StatusCode::UNAUTHORIZED, "No token provided");
    };
    if !grant.valid {
        return api_error(StatusCode::UNAUTHORIZED, "The access token expired");
    }
    if s.quota {
        let body = json!({"error": {
            "status": 429,
            "message": "This app has exceeded its quota",
            "reason": "QUOTA_EXCEEDED",
        }});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, QUOTA_RETRY_AFTER_S.to_string())],
            axum::Json(body),
        )
            .into_response();
    }
    if method != Method::GET {
        return api_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    match route(&s, grant, &path, &q) {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

fn route(s: &SpState, grant: &Access, path: &str, q: &Form) -> Result<Response, Refusal> {
    let base = s.api_base.as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let playlist = |id: &str| {
        s.playlists
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))
    };
    Ok(match segments.as_slice() {
        ["v1", "me"] => {
            let user = user_of(grant)?;
            reply(
                StatusCode::OK,
                json!({"id": user, "display_name": user, "type": "user", "product": "premium"}),
            )
        }
        ["v1", "me", "playlists"] => {
            user_of(grant)?;
            need_scope(grant, "playlist-read-private")?;
            paged(base, path, q, s.playlists.as_slice(), |p| {
                playlist_json(p, base, true)
            })
        }
        ["v1", "me", "tracks"] => {
            user_of(grant)?;
            need_scope(grant, "user-library-read")?;
            let liked: Vec<(usize, &SpTrack)> = s.liked.iter().enumerate().collect();
            paged(
                base,
                path,
                q,
                liked.as_slice(),
                |(i, t)| json!({"added_at": timestamp(i * 60), "track": track_json(t)}),
            )
        }
        ["v1", "me", "player", "recently-played"] => {
            user_of(grant)?;
            need_scope(grant, "user-read-recently-played")?;
            let (_, limit) = paging(q)?;
            let items: Vec<Value> = s
                .recent
                .iter()
                .filter(|t| !t.id.is_empty())
                .take(limit)
                .enumerate()
                .map(|(i, t)| json!({"track": track_json(t), "played_at": timestamp(i * 4)}))
                .collect();
            reply(
                StatusCode::OK,
                json!({"items": items, "next": null, "cursors": null, "limit": limit}),
            )
        }
        ["v1", "me", "top", "tracks"] => {
            user_of(grant)?;
            need_scope(grant, "user-top-read")?;
            let top: Vec<&SpTrack> = s.top.iter().filter(|t| !t.id.is_empty()).collect();
            paged(base, path, q, top.as_slice(), |t| track_json(t))
        }
        ["v1", "playlists", id] => {
            let p = playlist(id)?;
            reply(StatusCode::OK, playlist_json(p, base, may_read(grant, p)))
        }
        ["v1", "playlists", id, "items"] => {
            let p = playlist(id)?;
            if !may_read(grant, p) {
                return Err(refuse(StatusCode::FORBIDDEN, "Forbidden"));
            }
            paged(base, path, q, p.tracks.as_slice(), |t| {
                json!({
                    "added_at": "2026-01-01T00:00:00Z",
                    "added_by": {"id": p.owner, "type": "user"},
                    "is_local": false,
                    "item": track_json(t),
                })
            })
        }
        // Closed to Development-Mode apps since 9 March 2026.
        ["v1", "playlists", _, "tracks"] | ["v1", "tracks"] => {
            api_error(StatusCode::FORBIDDEN, "Forbidden")
        }
        ["v1", "tracks", id] => {
            let t = s
                .track(id)
                .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))?;
            reply(StatusCode::OK, track_json(t))
        }
        ["v1", "albums", id, "tracks"] => {
            let (_, tracks) = s
                .albums
                .iter()
                .find(|(a, _)| a == id)
                .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))?;
            paged(base, path, q, tracks.as_slice(), simple_track_json)
        }
        _ => api_error(StatusCode::NOT_FOUND, "Service not found"),
    })
}
