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

mod device;
mod services;
