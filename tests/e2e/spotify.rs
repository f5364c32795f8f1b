//! Spotify links against the harness's Spotify stand-in (the Web API as it stands since
//! March 2026) and a stand-in yt-dlp: metadata, playlists read as the requester through
//! `/items` with paging, the plain refusal for anyone else's, the ISRC-then-title match within
//! ±3 s, and the cache.

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use timmybot_domain::{Clock, SystemClock};
use timmybot_domain::{Platform, TrackKey, UserId};
use timmybot_sources::spotify::SpotifyApi;
use timmybot_sources::{Guard, LinkedAccounts, Sources, SourcesConfig};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::TrackCache;
use timmybot_tests::standins::spotify::{self, SpPlaylist, SpTrack, Spotify};

const TRACK: &str = "4uLU6hMCjMI75M1A2tKUQC";
/// The linked user's own playlist.
const LIST: &str = "37i9dQZF1DXcBWIGoYBM5M";
/// Someone else's playlist.
const FOREIGN: &str = "5ForeignPlaylist000001";
/// The linked user, as Spotify knows them.
const ME: &str = "standin-user";
/// The user-facing sentence for a playlist Spotify will not let us read.
const NOT_READABLE: &str = "Spotify no longer lets apps like this read other people's \
     playlists. Link your own account with /auth-spotify to play your playlists, or use a \
     YouTube link.";

/// The stand-in with a track, the user's 53-entry playlist (one entry removed) and someone
/// else's; and the linked user's token.
async fn fake_spotify() -> (Spotify, String) {
    let sp = Spotify::start().await;
    sp.set_me(ME);
    sp.add_track(SpTrack::new(
        TRACK,
        "Never Gonna Give You Up",
        "Rick Astley",
        213_000,
        Some("GBARL9300135"),
    ));
    let mut entries = vec![
        SpTrack::new("a000000000000000000001", "One", "Someone", 1_000, None),
        SpTrack::unavailable(),
        SpTrack::new("a000000000000000000002", "Two", "Someone", 2_000, None),
    ];
    entries.extend(SpTrack::numbered("s", 50));
    sp.add_playlist(SpPlaylist {
        id: LIST.into(),
        name: "Mine".into(),
        owner: ME.into(),
        collaborative: false,
        tracks: entries,
    });
    sp.add_playlist(SpPlaylist {
        id: FOREIGN.into(),
        name: "Theirs".into(),
        owner: "someone-else".into(),
        collaborative: false,
        tracks: SpTrack::numbered("f", 3),
    });
    let (token, _) = sp.mint(ME);
    (sp, token)
}

/// Each Web API call as `path?query`, for comparing.
fn paths(sp: &Spotify) -> Vec<String> {
    sp.calls()
        .into_iter()
        .map(|c| format!("{}?{}", c.path, c.query))
        .collect()
}

/// The accounts vault, for tests: one linked user and their token.
struct Linked {
    user: UserId,
    token: String,
}

#[async_trait::async_trait]
impl LinkedAccounts for Linked {
    async fn spotify_token(&self, user: UserId) -> Option<SecretString> {
        (user == self.user).then(|| SecretString::from(self.token.clone()))
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

fn linked(user: u64, token: &str) -> Option<Arc<dyn LinkedAccounts>> {
    Some(Arc::new(Linked {
        user: UserId::new(user).unwrap(),
        token: token.to_owned(),
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
    sp: &Spotify,
    linked: Option<Arc<dyn LinkedAccounts>>,
) -> (Sources, Arc<SqliteStore>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStore::open(":memory:", clock.clone()).await.unwrap());
    let api = SpotifyApi::new(
        spotify::CLIENT_ID.into(),
        spotify::CLIENT_SECRET.into(),
        &sp.accounts_url(),
        &sp.api_url(),
    )
    .unwrap();
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
    let (sp, token) = fake_spotify().await;
    let (src, store) = sources(dir.path(), &sp, linked(1, &token)).await;
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
    assert_eq!(sp.token_requests(), 1, "the app's token is reused");
    let calls = sp.calls();
    assert_eq!(
        paths(&sp),
        [format!("/v1/tracks/{TRACK}?")],
        "one GET /v1/tracks/{{id}}, never the batch"
    );
    let bearer = calls[0].bearer.clone().unwrap();
    assert_ne!(bearer, token);
    assert_eq!(
        sp.user_of(&bearer),
        None,
        "with the app's token, even for a linked user"
    );
}

#[tokio::test]
async fn a_playlist_is_read_as_the_requester_through_items_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (sp, token) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &sp, linked(1, &token)).await;
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
        ["One", "Two", "s track 1"],
        "in order; the removed (null) entry skipped"
    );
    assert_eq!(
        titles.last(),
        Some(&"s track 50"),
        "the second page was read"
    );
    assert!(tracks
        .iter()
        .all(|t| t.requester == UserId::new(1).unwrap()));
    let calls = sp.calls();
    assert_eq!(calls.len(), 2, "{:?}", paths(&sp));
    assert!(calls
        .iter()
        .all(|c| c.path == format!("/v1/playlists/{LIST}/items")
            && c.query.contains("limit=50")
            && c.bearer.as_deref() == Some(token.as_str())));
    assert!(calls[1].query.contains("offset=50"), "{:?}", paths(&sp));
    assert_eq!(
        sp.token_requests(),
        0,
        "only /items, both pages with the requester's token; the app's token is not even fetched"
    );
}

#[tokio::test]
async fn a_playlist_without_a_linked_account_is_a_plain_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (sp, token) = fake_spotify().await;
    let link = format!("https://open.spotify.com/playlist/{LIST}");
    // No vault at all, and a vault where the requester (2) has not linked Spotify.
    for tokens in [None, linked(1, &token)] {
        let (src, _) = sources(dir.path(), &sp, tokens).await;
        let e = src
            .resolve(&link, UserId::new(2).unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), NOT_READABLE);
    }
    assert!(sp.calls().is_empty(), "nothing asked: {:?}", paths(&sp));
}

#[tokio::test]
async fn someone_elses_playlist_is_a_plain_refusal_not_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (sp, token) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &sp, linked(1, &token)).await;
    let e = src
        .resolve(
            &format!("https://open.spotify.com/playlist/{FOREIGN}"),
            UserId::new(1).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), NOT_READABLE);
    let calls = sp.calls();
    assert_eq!(calls.len(), 1, "asked once: {:?}", paths(&sp));
    assert_eq!(calls[0].path, format!("/v1/playlists/{FOREIGN}/items"));
    assert_eq!(
        calls[0].bearer.as_deref(),
        Some(token.as_str()),
        "as the requester"
    );
}

#[tokio::test]
async fn an_unknown_track_and_a_missing_app_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (sp, _) = fake_spotify().await;
    let (src, _) = sources(dir.path(), &sp, None).await;
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
