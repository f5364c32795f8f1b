//! Spotify's Web API rules, MusicBrainz's rate limit and ListenBrainz's radio.

use super::*;

#[tokio::test]
async fn spotify_items_refuses_limit_51_and_someone_elses_playlist() {
    let sp = Spotify::start().await;
    let (token, _) = sp.mint("alice");
    let playlist = |id: &str, owner: &str, collaborative: bool, n: usize| SpPlaylist {
        id: id.into(),
        name: id.into(),
        owner: owner.into(),
        collaborative,
        tracks: SpTrack::numbered(id, n),
    };
    sp.add_playlist(playlist("own", "alice", false, 120));
    sp.add_playlist(playlist("foreign", "bob", false, 3));
    sp.add_playlist(playlist("shared", "bob", true, 3));
    let get = |path: &str| {
        http()
            .get(format!("{}{path}", sp.api_url()))
            .bearer_auth(&token)
            .send()
    };

    let (status, _) = json_of(get("/v1/playlists/own/items?limit=51").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, page) = json_of(get("/v1/playlists/own/items?limit=50").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert_eq!(page["total"], 120);
    assert_eq!(page["items"][0]["item"]["id"], "own0000000000000000001");
    assert!(
        page["items"][0].get("track").is_none(),
        "2026: the track is under `item` only"
    );
    assert_eq!(
        page["next"].as_str().unwrap(),
        format!("{}/v1/playlists/own/items?offset=50&limit=50", sp.api_url())
    );

    let (status, _) = json_of(get("/v1/playlists/foreign/items").await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, meta) = json_of(get("/v1/playlists/foreign").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["owner"]["id"], "bob");
    assert!(
        meta.get("items").is_none(),
        "someone else's playlist: metadata only"
    );
    let (status, _) = json_of(get("/v1/playlists/shared/items").await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a collaborative playlist is readable"
    );

    let (status, _) = json_of(get("/v1/playlists/own/tracks").await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "closed since 9 March 2026");
    let (status, _) = json_of(get("/v1/tracks?ids=own0000000000000000001").await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "batch tracks are gone");

    sp.quota_exceeded(true);
    let resp = get("/v1/me/playlists").await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(json_of(resp).await.1["error"]["reason"], "QUOTA_EXCEEDED");

    assert_eq!(sp.requests("/v1/playlists/foreign/items"), 1);
    assert_eq!(
        sp.bearers("/v1/playlists/foreign/items"),
        [Some(token.clone())]
    );
    assert_eq!(sp.user_of(&token).as_deref(), Some("alice"));
}

#[tokio::test]
async fn musicbrainz_refuses_two_requests_within_a_second_and_no_user_agent() {
    let mb = MusicBrainz::start().await;
    mb.add_recording("GBARL9300135", "Never Gonna Give You Up", "Rick Astley");
    let polite = reqwest::Client::builder()
        .user_agent("TimmyBot/0.1 (tests)")
        .build()
        .unwrap();
    let isrc = format!(
        "{}/ws/2/isrc/GBARL9300135?inc=artist-credits&fmt=json",
        mb.url()
    );
    let artist = format!(
        "{}/ws/2/artist?query=artist:%22rick%20astley%22&limit=1&fmt=json",
        mb.url()
    );

    let (status, body) = json_of(polite.get(&isrc).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["recordings"][0]["artist-credit"][0]["artist"]["name"],
        "Rick Astley"
    );
    let status = polite.get(&artist).send().await.unwrap().status();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(mb.too_fast(), 1);

    // The rate limit is the thing under test: one request a second is allowed.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (status, body) = json_of(polite.get(&artist).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["artists"][0]["id"],
        MusicBrainz::artist_id("Rick Astley")
    );
    assert_eq!(mb.too_fast(), 1);
    assert_eq!(mb.request_instants().len(), 3);

    let fresh = MusicBrainz::start().await;
    let anonymous = reqwest::Client::new(); // reqwest sends no User-Agent of its own
    let status = anonymous
        .get(format!("{}/ws/2/isrc/GBARL9300135?fmt=json", fresh.url()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn listenbrainz_answers_jspf_and_holds_requests_while_hanging() {
    let lb = ListenBrainz::start().await;
    lb.set_radio(
        "Rick Astley",
        vec![
            ("Take On Me", "a-ha", Some(225_000)),
            ("Africa", "Toto", None),
        ],
    );
    let url = format!(
        "{}/1/explore/lb-radio?prompt=artist:(rick%20astley)&mode=easy",
        lb.url()
    );
    let (status, body) = json_of(http().get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let tracks = body["payload"]["jspf"]["playlist"]["track"]
        .as_array()
        .unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!(
        (
            tracks[0]["creator"].as_str(),
            tracks[0]["duration"].as_u64()
        ),
        (Some("a-ha"), Some(225_000))
    );
    assert!(tracks[1].get("duration").is_none());
    assert!(tracks[0]["identifier"][0]
        .as_str()
        .unwrap()
        .starts_with("https://musicbrainz.org/recording/"));

    lb.hang(true);
    let pending = tokio::spawn({
        let url = url.clone();
        async move { http().get(&url).send().await.map(|r| r.status()) }
    });
    let arrived = async {
        while lb.requests() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), arrived)
        .await
        .expect("the request reaches the stand-in");
    assert!(!pending.is_finished());
    lb.down(true);
    lb.hang(false);
    assert_eq!(
        pending.await.unwrap().unwrap(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
