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

mod accounts;
mod web;

use super::{basic, bearer, lock, reply, secret, Form, Server};
use accounts::accounts;
use web::web_api;

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
