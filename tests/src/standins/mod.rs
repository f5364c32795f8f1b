//! Local stand-ins for the platforms linked accounts talk to: Google's OAuth and the YouTube
//! Data API, Spotify's accounts service and Web API (as it stands in 2026), MusicBrainz and
//! ListenBrainz. Each is an axum server on `127.0.0.1:0`, built to the request and response
//! shapes those services document (see `/work/scratch/accounts-contract.md`), strict where a
//! lenient fake would hide a client bug (PKCE, single-use codes, page limits, rate limits),
//! with controls a test turns and records a test reads.
//!
//! - [`google`]: the device authorization grant, scripted per device code; refresh; revoke.
//! - [`youtube`]: playlists, playlist items and liked videos, for tokens [`google`] issued.
//! - [`spotify`]: `/authorize` and `/api/token` (PKCE, refresh, client credentials) and the
//!   Web API after March 2026 (`/items`, metadata only for someone else's playlist).
//! - [`musicbrainz`]: ISRC and artist look-ups, 1 request/s and a User-Agent enforced.
//! - [`listenbrainz`]: LB Radio by artist, down or hanging on demand.
//! - [`lrclib`]: lyrics by artist, title and duration, by id, and by search.
//!
//! Every server stops when its stand-in is dropped. None of them logs: what they record
//! (forms, bearer tokens) stays in memory for the test to read.

pub mod google;
pub mod listenbrainz;
pub mod lrclib;
pub mod musicbrainz;
pub mod spotify;
pub mod youtube;

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine as _;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;

pub use google::{DeviceAnswer, Google};
pub use listenbrainz::ListenBrainz;
pub use lrclib::{Lrclib, Song};
pub use musicbrainz::MusicBrainz;
pub use spotify::{ApiCall, Authorization, SpPlaylist, SpTrack, Spotify};
pub use youtube::{Video, VideoStatus, YouTube};

/// Every stand-in, started together, with YouTube sharing Google's tokens.
pub struct Standins {
    pub google: Google,
    pub youtube: YouTube,
    pub spotify: Spotify,
    pub musicbrainz: MusicBrainz,
    pub listenbrainz: ListenBrainz,
    pub lrclib: Lrclib,
}

impl Standins {
    pub async fn start() -> Self {
        let google = Google::start().await;
        let youtube = YouTube::start(&google).await;
        Self {
            youtube,
            google,
            spotify: Spotify::start().await,
            musicbrainz: MusicBrainz::start().await,
            listenbrainz: ListenBrainz::start().await,
            lrclib: Lrclib::start().await,
        }
    }

    /// The base-URL overrides (no trailing slash) that point the bot at these stand-ins.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GOOGLE_OAUTH_URL", self.google.url()),
            ("YOUTUBE_API_URL", self.youtube.url()),
            ("SPOTIFY_ACCOUNTS_URL", self.spotify.accounts_url()),
            ("SPOTIFY_API_URL", self.spotify.api_url()),
            ("MUSICBRAINZ_URL", self.musicbrainz.url()),
            ("LISTENBRAINZ_URL", self.listenbrainz.url()),
            ("LRCLIB_URL", self.lrclib.url()),
        ]
    }

    /// The app credentials the stand-ins accept, under the settings' names.
    pub fn credentials(&self) -> Vec<(&'static str, String)> {
        vec![
            ("YOUTUBE_CLIENT_ID", google::CLIENT_ID.to_owned()),
            ("YOUTUBE_CLIENT_SECRET", google::CLIENT_SECRET.to_owned()),
            ("SPOTIFY_CLIENT_ID", spotify::CLIENT_ID.to_owned()),
            ("SPOTIFY_CLIENT_SECRET", spotify::CLIENT_SECRET.to_owned()),
        ]
    }

    /// Every token, code and device code any stand-in handed out, for the log search.
    pub fn issued_secrets(&self) -> Vec<String> {
        let mut all = self.google.issued_secrets();
        all.extend(self.spotify.issued_secrets());
        all
    }
}

/// A form or query string, decoded. Not `Debug`: it may hold secrets.
#[derive(Clone, Default)]
pub struct Form {
    /// The path the form was sent to.
    pub path: String,
    fields: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn parse(path: &str, encoded: &str) -> Self {
        // `Url` decodes `application/x-www-form-urlencoded` exactly as a query string.
        let mut url = reqwest::Url::parse("http://standin.invalid/").expect("a constant URL");
        url.set_query(Some(encoded));
        Self {
            path: path.to_owned(),
            fields: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// A server task that stops when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds first, so a stand-in can put its own address in the links it answers.
    pub(crate) async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a stand-in on loopback");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        (listener, format!("http://{addr}"))
    }

    pub(crate) fn serve(listener: tokio::net::TcpListener, app: Router) -> Self {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A poisoned lock only means another handler panicked; the test will report that one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A random secret: `prefix` then `len` alphanumerics.
pub(crate) fn secret(prefix: &str, len: usize) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), len)
    )
}

pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// `(id, secret)` from `Authorization: Basic base64(id:secret)`.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A stable MusicBrainz-style id (a UUID's shape) for `seed`.
pub(crate) fn mbid(seed: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(seed.as_bytes());
    let h: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
