//! Spotify links against a local stand-in for Spotify's Web API as it stands since March 2026
//! and a stand-in yt-dlp: metadata, playlists read as the requester through `/items` with
//! paging, the plain refusal for anyone else's, the ISRC-then-title match within ±3 s, and the
//! cache.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::{json, Value};
use timmybot_domain::{Clock, SystemClock};
use timmybot_domain::{Platform, TrackKey, UserId};
use timmybot_sources::spotify::SpotifyApi;
use timmybot_sources::{Guard, LinkedAccounts, Sources, SourcesConfig};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::TrackCache;

const TRACK: &str = "4uLU6hMCjMI75M1A2tKUQC";
/// The linked user's own playlist.
const LIST: &str = "37i9dQZF1DXcBWIGoYBM5M";
/// Someone else's playlist.
const FOREIGN: &str = "5ForeignPlaylist000001";
/// The app's token (client credentials): it acts for no user.
const APP_TOKEN: &str = "tok";
/// The linked user's token, acting for the Spotify user `me`.
const USER_TOKEN: &str = "user-tok";
/// The user-facing sentence for a playlist Spotify will not let us read.
const NOT_READABLE: &str = "Spotify no longer lets apps like this read other people's \
     playlists. Link your own account with /auth-spotify to play your playlists, or use a \
     YouTube link.";

#[derive(Clone, Default)]
struct Api {
    base: Arc<Mutex<String>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Api {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

fn track_json(id: &str, name: &str, ms: u64, isrc: Option<&str>) -> Value {
    json!({
        "id": id, "name": name, "duration_ms": ms, "type": "track", "is_local": false,
        "artists": [{"name": "Rick Astley"}],
        "external_ids": isrc.map_or(json!({}), |i| json!({"isrc": i}))
    })
}

fn error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({"error": {"status": status.as_u16(), "message": message}})),
    )
}

/// The Spotify user a bearer token acts for: `Ok(None)` for the app's own token.
fn caller(h: &HeaderMap) -> Result<Option<&'static str>, (StatusCode, Json<Value>)> {
    match h.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) if v == format!("Bearer {USER_TOKEN}") => Ok(Some("me")),
        Some(v) if v == format!("Bearer {APP_TOKEN}") => Ok(None),
        _ => Err(error(StatusCode::UNAUTHORIZED, "Invalid access token")),
    }
}

fn bearer(h: &HeaderMap) -> String {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("none")
        .to_owned()
}

/// A playlist's owner and entries, as `/items` serves them.
fn playlist(id: &str) -> Option<(&'static str, &'static str, Vec<Value>)> {
    match id {
        LIST => {
            // 53 entries: a page of 50 and one of 3. A removed track is `null`, and one
            // entry carries only the deprecated `track` key.
            let mut entries = vec![
                json!({"added_at": "2026-03-10T00:00:00Z",
                       "item": track_json("a000000000000000000001", "One", 1_000, None)}),
                json!({"added_at": "2026-03-10T00:00:00Z", "item": null}),
                json!({"added_at": "2026-03-10T00:00:00Z",
                       "track": track_json("a000000000000000000002", "Two", 2_000, None)}),
            ];
            entries.extend((3..=52).map(|n| {
                json!({"added_at": "2026-03-10T00:00:00Z",
                       "item": track_json(&format!("b{n:021}"), &format!("Song {n}"), 3_000, None)})
            }));
            Some(("me", "Mine", entries))
        }
        FOREIGN => Some((
            "someone-else",
            "Theirs",
            vec![json!({"item": track_json("c000000000000000000001", "Theirs", 1_000, None)})],
        )),
        _ => None,
    }
}

/// Spotify's accounts service and Web API as they answer a Development-Mode app since
/// 9 March 2026: `/playlists/{id}/tracks` and batch `/tracks?ids=` answer 403, `/items` pages by
/// at most 50 and only for the playlist's owner, and someone else's playlist answers its
/// metadata only.
async fn fake_spotify() -> (String, Api) {
    let api = Api::default();
    let app = Router::new()
        .route(
            "/api/token",
            post(|State(a): State<Api>, h: HeaderMap| async move {
                a.record("token".into());
                // Basic base64("id:secret")
                let ok = h.get("authorization").and_then(|v| v.to_str().ok())
                    == Some("Basic aWQ6c2VjcmV0");
                if !ok {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(Json(
                    json!({"access_token": APP_TOKEN, "token_type": "Bearer", "expires_in": 3600}),
                ))
            }),
        )
        .route(
            "/v1/tracks",
            get(|State(a): State<Api>| async move {
                a.record("batch tracks".into());
                error(StatusCode::FORBIDDEN, "Forbidden")
            }),
        )
        .route("/v1/tracks/{id}", get(one_track))
        .route("/v1/playlists/{id}", get(playlist_metadata))
        .route(
            "/v1/playlists/{id}/tracks",
            get(
                |State(a): State<Api>, UrlPath(id): UrlPath<String>| async move {
                    a.record(format!("playlist tracks {id}"));
                    error(StatusCode::FORBIDDEN, "Forbidden")
                },
            ),
        )
        .route("/v1/playlists/{id}/items", get(playlist_items))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *api.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, api)
}

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

async fn one_track(State(a): State<Api>, h: HeaderMap, UrlPath(id): UrlPath<String>) -> Answer {
    a.record(format!("track {id} as {}", bearer(&h)));
    caller(&h)?;
    if id != TRACK {
        return Err(error(StatusCode::NOT_FOUND, "Resource not found"));
    }
    Ok(Json(track_json(
        TRACK,
        "Never Gonna Give You Up",
        213_000,
        Some("GBARL9300135"),
    )))
}

async fn playlist_metadata(
    State(a): State<Api>,
    h: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Answer {
    a.record(format!("playlist {id} as {}", bearer(&h)));
    caller(&h)?;
    let (owner, name, _) =
        playlist(&id).ok_or_else(|| error(StatusCode::NOT_FOUND, "Resource not found"))?;
    // Metadata only: the entries are read through /items, and only by their owner.
    Ok(Json(
        json!({"id": id, "name": name, "owner": {"id": owner}, "collaborative": false}),
    ))
}

async fn playlist_items(
    State(a): State<Api>,
    h: HeaderMap,
    UrlPath(id): UrlPath<String>,
    uri: axum::http::Uri,
) -> Answer {
    let q: HashMap<String, String> = reqwest::Url::parse(&format!("http://x{uri}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    // Spotify's default page is 20; anything unreadable is as bad as too large.
    let limit: usize = q.get("limit").map_or(Ok(20), |l| l.parse()).unwrap_or(0);
    let offset: usize = q.get("offset").map_or(Ok(0), |o| o.parse()).unwrap_or(0);
    a.record(format!(
        "items {id} offset={offset} limit={limit} as {}",
        bearer(&h)
    ));
    if !(1..=50).contains(&limit) {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid limit"));
    }
    let user = caller(&h)?;
    let (owner, _, entries) =
        playlist(&id).ok_or_else(|| error(StatusCode::NOT_FOUND, "Resource not found"))?;
    if user != Some(owner) {
        return Err(error(StatusCode::FORBIDDEN, "Forbidden"));
    }
    let total = entries.len();
    let end = (offset + limit).min(total);
    let page: Vec<Value> = entries.get(offset..end).unwrap_or_default().to_vec();
    let base = a.base.lock().unwrap().clone();
    let next =
        (end < total).then(|| format!("{base}/v1/playlists/{id}/items?offset={end}&limit={limit}"));
    Ok(Json(json!({"items": page, "next": next, "total": total,
                   "offset": offset, "limit": limit})))
}

/// The accounts vault, for tests: one linked user and their token.
struct Linked {
    user: UserId,
    token: &'static str,
}

#[async_trait::async_trait]
impl LinkedAccounts for Linked {
    async fn spotify_token(&self, user: UserId) -> Option<SecretString> {
        (user == self.user).then(|| SecretString::from(self.token))
    }
    async fn expand(
        &self,
        _: UserId,
        _: &timmybot_domain::LibraryRef,
        _: usize,
    ) -> Result<timmybot_domain::Expanded, String> {
        Err("these tests read pasted links only".into())
    }
}

fn linked(user: u64) -> Option<Arc<dyn LinkedAccounts>> {
    Some(Arc::new(Linked {
        user: UserId::new(user).unwrap(),
        token: USER_TOKEN,
    }))
}

/// Answers the ISRC search with a recording 10 s too long, and the title search with one
/// 2 s off: only the second is a match.
fn fake_ytdl(dir: &Path) -> String {
    let script = dir.join("yt-dlp");
    let log = dir.join("args.log");
    let body = format!(
        r#"#!/bin/sh
echo "$2" >> '{log}'
case "$2" in
  *GBARL9300135*) printf '%s\n' '{{"url":"http://x/isrc","webpage_url":"https://www.youtube.com/watch?v=isrc","title":"Live version","duration":223.0}}' ;;
  *) printf '%s\n%s\n' '{{"url":"http://x/a","webpage_url":"https://www.youtube.com/watch?v=wrong","title":"Cover","duration":180.0}}' '{{"url":"http://x/b","webpage_url":"https://www.youtube.com/watch?v=right","title":"Official","duration":211.0}}' ;;
esac
"#,
        log = log.display()
    );
    std::fs::write(&script, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script.to_string_lossy().into_owned()
}

async fn sources(
    dir: &Path,
    base: &str,
    linked: Option<Arc<dyn LinkedAccounts>>,
) -> (Sources, Arc<SqliteStore>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStore::open(":memory:", clock.clone()).await.unwrap());
    let api = SpotifyApi::new("id".into(), "secret".into(), base, base).unwrap();
    let src = Sources::new(
        SourcesConfig {
            ytdl_program: fake_ytdl(dir),
            ytdl_args: vec![],
            guard: Guard::default(),
            spotify: Some(api),
            linked,
            music_dir: None,
        },
        store.clone(),
        clock,
    )
    .unwrap();
    (src, store)
}

#[tokio::test]
async fn a_track_link_is_matched_by_isrc_then_title_within_three_seconds_and_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_spotify().await;
    let (src, store) = sources(dir.path(), &base, linked(1)).await;
    let user = UserId::new(1).unwrap();

    let tracks = src
        .resolve(
            &format!("https://open.spotify.com/track/{TRACK}?si=x"),
            user,
        )
        .await
        .unwrap();
    assert_eq!(tracks.len(), 1);
    let t = &tracks[0];
    assert_eq!(t.key, TrackKey::new(Platform::Spotify, TRACK).unwrap());
    assert_eq!(t.title, "Never Gonna Give You Up");
    assert_eq!(t.artist.as_deref(), Some("Rick Astley"));
    assert_eq!(t.duration_ms, Some(213_000));
    assert!(
        !dir.path().join("args.log").exists(),
        "no search before it plays"
    );

    src.open(t).await.unwrap();
    let searches = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    let searches: Vec<&str> = searches.lines().collect();
    assert_eq!(
        searches,
        [
            "ytsearch3:\"GBARL9300135\"",
            "ytsearch5:Rick Astley - Never Gonna Give You Up audio"
        ],
        "ISRC first; its 223 s result is more than 3 s off, so the title search decides"
    );
    let cached = store.cached_track(&t.key).await.unwrap().unwrap();
    assert_eq!(
        cached.resolved_source,
        "https://www.youtube.com/watch?v=right"
    );
    assert_eq!(cached.isrc.as_deref(), Some("GBARL9300135"));

    src.open(t).await.unwrap();
    let again = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    assert_eq!(again.lines().count(), 2, "the second play uses the cache");
    let calls = api.calls();
    assert_eq!(
        calls.iter().filter(|c| *c == "token").count(),
        1,
        "the token is reused"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("track "))
            .collect::<Vec<_>>(),
        [&format!("track {TRACK} as {APP_TOKEN}")],
        "one GET /v1/tracks/{{id}}, with the app's token, even for a linked user"
    );
    assert!(!calls.contains(&"batch tracks".to_owned()), "{calls:?}");
}

#[tokio::test]
async fn a_playlist_is_read_as_the_requester_through_items_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &base, linked(1)).await;
    let tracks = src
        .resolve(
            &format!("https://open.spotify.com/playlist/{LIST}?si=x"),
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap();
    let titles: Vec<&str> = tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(tracks.len(), 52, "53 entries, one removed");
    assert_eq!(
        titles[..3],
        ["One", "Two", "Song 3"],
        "in order; the removed (null) entry skipped, the deprecated `track` entry read"
    );
    assert_eq!(titles.last(), Some(&"Song 52"), "the second page was read");
    assert!(tracks
        .iter()
        .all(|t| t.requester == UserId::new(1).unwrap()));
    assert_eq!(
        api.calls(),
        [
            format!("items {LIST} offset=0 limit=50 as {USER_TOKEN}"),
            format!("items {LIST} offset=50 limit=50 as {USER_TOKEN}"),
        ],
        "only /items, both pages with the requester's token; the app's token is not even fetched"
    );
}

#[tokio::test]
async fn a_playlist_without_a_linked_account_is_a_plain_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_spotify().await;
    let link = format!("https://open.spotify.com/playlist/{LIST}");
    // No vault at all, and a vault where the requester (2) has not linked Spotify.
    for tokens in [None, linked(1)] {
        let (src, _) = sources(dir.path(), &base, tokens).await;
        let e = src
            .resolve(&link, UserId::new(2).unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), NOT_READABLE);
    }
    let calls = api.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("playlist tracks")),
        "/tracks is never called: {calls:?}"
    );
}

#[tokio::test]
async fn someone_elses_playlist_is_a_plain_refusal_not_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &base, linked(1)).await;
    let e = src
        .resolve(
            &format!("https://open.spotify.com/playlist/{FOREIGN}"),
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), NOT_READABLE);
    assert_eq!(
        api.calls(),
        [format!("items {FOREIGN} offset=0 limit=50 as {USER_TOKEN}")],
        "asked once, as the requester, and never through /tracks"
    );
}

/// The stand-in itself answers as Spotify documents it since March 2026, so the tests above
/// would catch a client that still used the closed endpoints.
#[tokio::test]
async fn the_stand_in_answers_as_spotify_does_since_march_2026() {
    let (base, _) = fake_spotify().await;
    let http = reqwest::Client::new();
    let status = |path: String, token: &'static str| {
        let req = http.get(format!("{base}{path}")).bearer_auth(token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status(format!("/v1/playlists/{LIST}/tracks"), USER_TOKEN).await,
        403
    );
    assert_eq!(
        status(format!("/v1/tracks?ids={TRACK}"), APP_TOKEN).await,
        403
    );
    assert_eq!(
        status(format!("/v1/playlists/{LIST}/items?limit=51"), USER_TOKEN).await,
        400
    );
    assert_eq!(
        status(format!("/v1/playlists/{LIST}/items?limit=50"), APP_TOKEN).await,
        403
    );
    assert_eq!(
        status(
            format!("/v1/playlists/{FOREIGN}/items?limit=50"),
            USER_TOKEN
        )
        .await,
        403
    );
    let meta: Value = http
        .get(format!("{base}/v1/playlists/{FOREIGN}"))
        .bearer_auth(USER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["owner"]["id"], "someone-else");
    assert!(
        meta.get("items").is_none() && meta.get("tracks").is_none(),
        "metadata only: {meta}"
    );
}

#[tokio::test]
async fn an_unknown_track_and_a_missing_app_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &base, None).await;
    let e = src
        .resolve(
            "https://open.spotify.com/track/0000000000000000000000",
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "that Spotify item was not found");

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStore::open(":memory:", clock.clone()).await.unwrap());
    let unconfigured = Sources::new(
        SourcesConfig {
            ytdl_program: "yt-dlp".into(),
            ytdl_args: vec![],
            guard: Guard::default(),
            spotify: None,
            linked: None,
            music_dir: None,
        },
        store,
        clock,
    )
    .unwrap();
    let e = unconfigured
        .resolve(
            &format!("https://open.spotify.com/track/{TRACK}"),
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SPOTIFY_CLIENT_ID"), "{e}");
}
