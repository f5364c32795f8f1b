//! The platform stand-ins hold their documented contract where a lenient fake would hide a
//! client bug: PKCE and single-use codes, the device script's order, revocation reaching
//! YouTube, Spotify's 2026 `/items` rules, MusicBrainz's rate limit and User-Agent rule.
//! Plain reqwest, so these prove the stand-ins, not a client.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest as _;
use timmybot_tests::standins::google::{self, DeviceAnswer, Google};
use timmybot_tests::standins::spotify::{self, SpPlaylist, SpTrack, Spotify};
use timmybot_tests::standins::{ListenBrainz, MusicBrainz, Video, VideoStatus, YouTube};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/spotify/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Runs `/authorize` and returns the code from the redirect, checking `state` comes back.
async fn authorize(sp: &Spotify, verifier: &str) -> String {
    let resp = http()
        .get(format!("{}/authorize", sp.accounts_url()))
        .query(&[
            ("client_id", spotify::CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge_method", "S256"),
            ("code_challenge", &challenge(verifier)),
            ("state", "nonce-1"),
            ("scope", spotify::SCOPES),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let to = reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    let get = |k: &str| {
        to.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some("nonce-1"));
    get("code").expect("a code in the redirect")
}

async fn exchange(sp: &Spotify, code: &str, verifier: &str, redirect: &str) -> (StatusCode, Value) {
    let resp = http()
        .post(format!("{}/api/token", sp.accounts_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", spotify::CLIENT_ID),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

#[tokio::test]
async fn spotify_pkce_refuses_a_wrong_verifier_a_wrong_redirect_and_a_reused_code() {
    let sp = Spotify::start().await;
    sp.set_me("alice");
    let verifier = "v".repeat(43) + "-._~0123456789";

    let code = authorize(&sp, &verifier).await;
    let wrong = "w".repeat(43);
    let (status, body) = exchange(&sp, &code, &wrong, REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = exchange(&sp, &code, &verifier, REDIRECT).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code is spent by any attempt"
    );

    let code = authorize(&sp, &verifier).await;
    let (status, body) = exchange(&sp, &code, &verifier, "http://127.0.0.1:9/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = authorize(&sp, &verifier).await;
    let (status, body) = exchange(&sp, &code, &verifier, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], spotify::SCOPES);
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert!(body["refresh_token"].is_string());
    let (status, body) = exchange(&sp, &code, &verifier, REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let me = http()
        .get(format!("{}/v1/me", sp.api_url()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(me).await.1["id"], "alice");
    let auths = sp.authorizations();
    assert_eq!(auths.len(), 3);
    assert_eq!(auths[0].code_challenge, challenge(&verifier));
    assert_eq!(auths[0].redirect_uri, REDIRECT);
    assert_eq!(sp.token_requests(), 5);
    assert!(sp.issued_secrets().contains(&access));
}

#[tokio::test]
async fn spotify_authorize_refuses_localhost_and_redirects_a_refusal() {
    let sp = Spotify::start().await;
    let ask = |redirect: &'static str| {
        http()
            .get(format!("{}/authorize", sp.accounts_url()))
            .query(&[
                ("client_id", spotify::CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("code_challenge_method", "S256"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("state", "s"),
            ])
            .send()
    };
    let resp = ask("http://localhost:8080/cb").await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "Spotify refuses localhost since 2025"
    );

    sp.deny(true);
    let resp = ask(REDIRECT).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let to = resp.headers()["location"].to_str().unwrap();
    assert_eq!(to, format!("{REDIRECT}?error=access_denied&state=s"));
    assert!(sp.issued_secrets().is_empty(), "a refusal issues no code");
}

async fn device_code(g: &Google) -> Value {
    let resp = http()
        .post(format!("{}/device/code", g.url()))
        .form(&[
            ("client_id", google::CLIENT_ID),
            ("scope", google::SCOPE_YOUTUBE_READONLY),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn poll(g: &Google, device_code: &str, secret: &str) -> (StatusCode, Value) {
    let resp = http()
        .post(format!("{}/token", g.url()))
        .form(&[
            ("client_id", google::CLIENT_ID),
            ("client_secret", secret),
            ("device_code", device_code),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ])
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

#[tokio::test]
async fn the_device_script_answers_in_order_and_a_code_is_spent_once_approved() {
    let g = Google::start().await;
    g.script(vec![
        DeviceAnswer::Pending,
        DeviceAnswer::SlowDown,
        DeviceAnswer::Pending,
        DeviceAnswer::Approve,
    ]);
    let dev = device_code(&g).await;
    let code = dev["device_code"].as_str().unwrap();
    let user_code = dev["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 9
            && user_code.chars().enumerate().all(|(i, c)| if i == 4 {
                c == '-'
            } else {
                c.is_ascii_uppercase()
            }),
        "{user_code}"
    );
    assert_eq!(dev["verification_url"], google::VERIFICATION_URL);
    assert_eq!(
        (dev["interval"].as_u64(), dev["expires_in"].as_u64()),
        (Some(5), Some(1800))
    );

    let mut seen = Vec::new();
    for _ in 0..5 {
        let (status, body) = poll(&g, code, google::CLIENT_SECRET).await;
        seen.push((
            status.as_u16(),
            body["error"].as_str().unwrap_or("ok").to_owned(),
        ));
        if status == StatusCode::OK {
            assert_eq!(body["token_type"], "Bearer");
            assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
        }
    }
    let seen: Vec<(u16, &str)> = seen.iter().map(|(s, e)| (*s, e.as_str())).collect();
    assert_eq!(
        seen,
        [
            (428, "authorization_pending"),
            (403, "slow_down"),
            (428, "authorization_pending"),
            (200, "ok"),
            (400, "invalid_grant"),
        ]
    );

    // A script for one device code; its last answer repeats.
    let other = device_code(&g).await;
    let other = other["device_code"].as_str().unwrap();
    g.script_for(other, vec![DeviceAnswer::Denied]);
    for _ in 0..2 {
        let (status, body) = poll(&g, other, google::CLIENT_SECRET).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("access_denied"))
        );
    }
    let (status, body) = poll(&g, other, "wrong-secret").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    assert_eq!(g.token_requests(), 8);
    let secrets = g.issued_secrets();
    assert!(secrets.iter().any(|s| s == code) && secrets.iter().any(|s| s == other));
    assert!(
        !secrets.iter().any(|s| s == user_code),
        "a user code is shown on purpose"
    );
}

#[tokio::test]
async fn youtube_refuses_revoked_and_unknown_tokens_and_pages_items() {
    let g = Google::start().await;
    let yt = YouTube::start(&g).await;
    let mut videos = Video::numbered("pl", 120);
    videos[1].status = VideoStatus::Private;
    videos[2].status = VideoStatus::Deleted;
    yt.set_playlists(vec![("PLmine", "Mine", videos)]);
    yt.set_liked(vec![Video::new("dQw4w9WgXcQ", "Never", "Rick", 213)]);

    let dev = device_code(&g).await;
    let (_, tokens) = poll(
        &g,
        dev["device_code"].as_str().unwrap(),
        google::CLIENT_SECRET,
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let get = |path: &str, query: Vec<(&'static str, String)>, token: &str| {
        http()
            .get(format!("{}/youtube/v3/{path}", yt.url()))
            .query(&query)
            .bearer_auth(token)
            .send()
    };
    let items_page = |page: Option<&str>| {
        let mut q = vec![
            ("part", "snippet,contentDetails,status".to_owned()),
            ("playlistId", "PLmine".to_owned()),
            ("maxResults", "50".to_owned()),
        ];
        if let Some(p) = page {
            q.push(("pageToken", p.to_owned()));
        }
        q
    };
    let mut sizes = Vec::new();
    let mut page: Option<String> = None;
    let mut first = Value::Null;
    loop {
        let (status, body) = json_of(
            get("playlistItems", items_page(page.as_deref()), &access)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sizes.push(body["items"].as_array().unwrap().len());
        if first.is_null() {
            first = body.clone();
        }
        match body["nextPageToken"].as_str() {
            Some(next) => page = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(first["items"][1]["snippet"]["title"], "Private video");
    assert_eq!(first["items"][1]["status"]["privacyStatus"], "private");
    assert_eq!(first["items"][2]["snippet"]["title"], "Deleted video");
    assert_eq!(
        first["items"][0]["contentDetails"]["videoId"],
        "pl000000001"
    );
    let (status, liked) = json_of(
        get(
            "videos",
            vec![
                ("part", "snippet,contentDetails".into()),
                ("myRating", "like".into()),
            ],
            &access,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(liked["items"][0]["contentDetails"]["duration"], "PT3M33S");

    let list = vec![("part", "snippet".to_owned()), ("mine", "true".to_owned())];
    let status = get("playlists", list.clone(), "ya29.made-up")
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let revoke = http()
        .post(format!("{}/revoke", g.url()))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(g.revoked(), vec![refresh.clone()]);
    let status = get("playlists", list, &access).await.unwrap().status();
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "revoking the grant kills its access token"
    );
    let (status, body) = json_of(
        http()
            .post(format!("{}/token", g.url()))
            .form(&[
                ("client_id", google::CLIENT_ID),
                ("client_secret", google::CLIENT_SECRET),
                ("refresh_token", refresh.as_str()),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(yt.requests("/youtube/v3/playlists"), 2);
}

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
