//! Spotify links against a local stand-in for Spotify's Web API (client credentials) and a
//! stand-in yt-dlp: metadata, paging, the ISRC-then-title match within ±3 s, and the cache.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use timmybot_domain::{Clock, SystemClock};
use timmybot_domain::{Platform, TrackKey, UserId};
use timmybot_sources::spotify::SpotifyApi;
use timmybot_sources::{Guard, Sources, SourcesConfig};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::TrackCache;

const TRACK: &str = "4uLU6hMCjMI75M1A2tKUQC";
const LIST: &str = "37i9dQZF1DXcBWIGoYBM5M";

#[derive(Clone, Default)]
struct Api {
    base: Arc<Mutex<String>>,
    calls: Arc<Mutex<Vec<String>>>,
}

fn track_json(id: &str, name: &str, ms: u64, isrc: Option<&str>) -> Value {
    json!({
        "id": id, "name": name, "duration_ms": ms,
        "artists": [{"name": "Rick Astley"}],
        "external_ids": isrc.map_or(json!({}), |i| json!({"isrc": i}))
    })
}

async fn fake_spotify() -> (String, Api) {
    let api = Api::default();
    let app = Router::new()
        .route(
            "/api/token",
            post(|State(a): State<Api>, h: HeaderMap| async move {
                a.calls.lock().unwrap().push("token".into());
                // Basic base64("id:secret")
                let ok = h.get("authorization").and_then(|v| v.to_str().ok())
                    == Some("Basic aWQ6c2VjcmV0");
                if !ok {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(Json(json!({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})))
            }),
        )
        .route(
            "/v1/tracks/{id}",
            get(|State(a): State<Api>, UrlPath(id): UrlPath<String>| async move {
                a.calls.lock().unwrap().push(format!("track {id}"));
                if id != TRACK {
                    return Err(StatusCode::NOT_FOUND);
                }
                Ok(Json(track_json(TRACK, "Never Gonna Give You Up", 213_000, Some("GBARL9300135"))))
            }),
        )
        .route(
            "/v1/playlists/{id}/tracks",
            get(
                |State(a): State<Api>,
                 UrlPath(_id): UrlPath<String>,
                 uri: axum::http::Uri| async move {
                    a.calls.lock().unwrap().push("playlist page".into());
                    let base = a.base.lock().unwrap().clone();
                    // Two pages, to prove paging; the second page ends the list.
                    Json(if !uri.query().unwrap_or_default().contains("offset") {
                        json!({"items": [{"track": track_json("a000000000000000000001", "One", 1_000, None)},
                                          {"track": null}],
                               "next": format!("{base}/v1/playlists/{LIST}/tracks?offset=2")})
                    } else {
                        json!({"items": [{"track": track_json("a000000000000000000002", "Two", 2_000, None)}],
                               "next": null})
                    })
                },
            ),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *api.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, api)
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

async fn sources(dir: &Path, base: &str) -> (Sources, Arc<SqliteStore>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStore::open(":memory:", clock.clone()).await.unwrap());
    let api = SpotifyApi::new("id".into(), "secret".into(), base, base).unwrap();
    let src = Sources::new(
        SourcesConfig {
            ytdl_program: fake_ytdl(dir),
            ytdl_args: vec![],
            guard: Guard::default(),
            spotify: Some(api),
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
    let (src, store) = sources(dir.path(), &base).await;
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
    let calls = api.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().filter(|c| *c == "token").count(),
        1,
        "the token is reused"
    );
}

#[tokio::test]
async fn a_playlist_is_read_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (base, api) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &base).await;
    let tracks = src
        .resolve(
            &format!("https://open.spotify.com/playlist/{LIST}"),
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap();
    let titles: Vec<&str> = tracks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        ["One", "Two"],
        "in order, the removed (null) item skipped"
    );
    assert_eq!(
        api.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "playlist page")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_unknown_track_and_a_missing_app_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &base).await;
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
