//! Signed requests at the edge, and the allowlist gate: what an unlisted guild, a DM, a forged request or a flood can and cannot do.

use crate::app::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong_as_json() {
    let app = spawn_app().await;
    let (status, ctype, body) = app.send(di::signed(&di::ping(1), NOW)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"type": 1})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers() {
    let app = spawn_app().await;
    let req = Request::get("/health").body(Body::empty()).unwrap();
    let (status, _, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
}

/// Each request below would approve a guild if it got through: an owner's
/// `/allowlist add`. None may change anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_bad_request_changes_nothing() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&allowlist_add(2, Some(GUILD), OWNER)).unwrap();
    let (sig, ts) = di::sign(&body, NOW);
    let other_key = {
        use ed25519_dalek::Signer;
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(&body);
        hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[1; 32])
                .sign(&msg)
                .to_bytes(),
        )
    };
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let stale = di::sign(&body, NOW - 301);
    let future = di::sign(&body, NOW + 301);

    let cases: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "no signature",
            di::raw_request(body.clone(), None, Some(&ts)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no timestamp",
            di::raw_request(body.clone(), Some(&sig), None),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature not hex",
            di::raw_request(body.clone(), Some("not-hex"), Some(&ts)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signature too short",
            di::raw_request(body.clone(), Some(&sig[..64]), Some(&ts)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "signed by another key",
            di::raw_request(body.clone(), Some(&other_key), Some(&ts)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "tampered body",
            di::raw_request(tampered, Some(&sig), Some(&ts)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "timestamp not a number",
            di::raw_request(body.clone(), Some(&sig), Some("yesterday")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "timestamp 301 s old",
            di::raw_request(body.clone(), Some(&stale.0), Some(&stale.1)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "timestamp 301 s ahead",
            di::raw_request(body.clone(), Some(&future.0), Some(&future.1)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "body over 64 KiB",
            di::signed_request(vec![b' '; BODY_LIMIT + 1], NOW),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "signed JSON that is not an interaction",
            di::signed_request(br#"{"hello":"world"}"#.to_vec(), NOW),
            StatusCode::BAD_REQUEST,
        ),
        (
            "signed text that is not JSON",
            di::signed_request(b"type=1".to_vec(), NOW),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, req, expected) in cases {
        let (status, _, _) = app.send(req).await;
        assert_eq!(status, expected, "{what}");
    }
    app.assert_untouched("after forged requests").await;

    // The same body, correctly signed, does get through: the cases above failed on their flaw.
    let ok = app.send(di::raw_request(body, Some(&sig), Some(&ts))).await;
    assert_eq!(ok.0, StatusCode::OK);
    assert_eq!(
        app.items().await.len(),
        2,
        "the allowlist entry and its audit record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_guild_or_a_dm_gets_the_request_access_message_and_nothing_else() {
    // Linked accounts fully set up against the stand-ins: were the gate bypassed, linking
    // would write a pending link and the library commands would call the platforms.
    let standins = timmybot_tests::standins::Standins::start().await;
    let app = spawn_app_with_accounts(
        standins
            .env()
            .into_iter()
            .chain(standins.credentials())
            .collect(),
    )
    .await;
    let in_guild = app
        .interact(&command(3, Some(GUILD), MEMBER, "play", vec![]))
        .await;
    assert_ephemeral(&in_guild, "isn't enabled on this server");
    assert_ephemeral(&in_guild, "self-hosted");
    assert_eq!(
        in_guild["data"]["components"][0]["components"][0]["custom_id"], "access:request",
        "with a button to ask: {in_guild}"
    );
    let in_dm = app
        .interact(&command(4, None, MEMBER, "queue", vec![]))
        .await;
    assert_ephemeral(&in_dm, "use its commands in a server");
    let button = app
        .interact(&di::button(5, Some(GUILD), MEMBER, "np:skip"))
        .await;
    assert_ephemeral(&button, "isn't enabled");
    let mut auto = command(6, Some(GUILD), MEMBER, "play", vec![]);
    auto.kind = InteractionType::ApplicationCommandAutocomplete;
    let auto = app.interact(&auto).await;
    assert_eq!(auto, json!({"type": 8, "data": {"choices": []}}));
    // Every linked-account and library command, button, menu and form, too.
    for (n, name, opts) in [
        (10, "auth-youtube", vec![]),
        (11, "auth-spotify", vec![]),
        (12, "check-auth", vec![]),
        (13, "unlink", vec![text("platform", "youtube")]),
        (14, "my-playlists", vec![]),
        (15, "liked-songs", vec![text("platform", "spotify")]),
        (16, "play-history", vec![]),
        (17, "recommendations", vec![]),
        (30, "previous", vec![]),
        (31, "playlist", subcommand("save", &[("name", "x")])),
        (32, "playlist", subcommand("load", &[("name", "x")])),
        (33, "playlist", subcommand("list", &[])),
        (34, "playlist", subcommand("show", &[("name", "x")])),
        (35, "playlist", subcommand("delete", &[("name", "x")])),
    ] {
        let res = app
            .interact(&command(n, Some(GUILD), MEMBER, name, opts))
            .await;
        assert_ephemeral(&res, "isn't enabled");
    }
    for (n, id) in [
        (20, "acct:yt-check"),
        (21, "acct:sp-paste"),
        (22, "lib:page:youtube:CAUQAA"),
        (23, "lib:again:never gonna"),
        (36, "np:previous"),
    ] {
        let res = app.interact(&di::button(n, Some(GUILD), MEMBER, id)).await;
        assert_ephemeral(&res, "isn't enabled");
    }
    let res = app
        .interact(&di::select(
            24,
            Some(GUILD),
            MEMBER,
            "lib:pick:youtube",
            &["PLx"],
        ))
        .await;
    assert_ephemeral(&res, "isn't enabled");
    let res = app
        .interact(&di::modal_submit(
            25,
            Some(GUILD),
            MEMBER,
            "acct:sp-form",
            &[(
                "acct:sp-url",
                "http://127.0.0.1:8888/callback?code=c&state=1.x",
            )],
        ))
        .await;
    assert_ephemeral(&res, "isn't enabled");
    // A non-owner's /allowlist in an unlisted guild is gated like anything else.
    let sneaky = app.interact(&allowlist_add(7, Some(GUILD), MEMBER)).await;
    assert_ephemeral(&sneaky, "isn't enabled");
    app.assert_untouched("unlisted guild").await;
    assert_eq!(
        standins.google.devices().len(),
        0,
        "no device code was asked for"
    );
    assert!(standins.spotify.authorizations().is_empty());
    assert_eq!(standins.youtube.total_requests(), 0);
    // The counter does see writes: an owner's approval is the entry and its audit record.
    app.interact(&allowlist_add(8, Some(GUILD), OWNER)).await;
    assert_eq!(
        app.writes(),
        ["DynamoDB_20120810.PutItem", "DynamoDB_20120810.PutItem"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_rate_limit_is_told_to_slow_down_and_nothing_happens() {
    use timmybot_commands::ratelimit::{LIMIT, WINDOW_MS};
    let app = spawn_app_limited(LIMIT).await;
    app.seed(&["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"])
        .await;
    for n in 0..LIMIT as u64 {
        let res = app
            .interact(&command(
                200 + n,
                Some(GUILD),
                MEMBER,
                "remove",
                vec![int("position", 1)],
            ))
            .await;
        assert!(
            res["data"]["content"]
                .as_str()
                .unwrap()
                .starts_with("Removed"),
            "{res}"
        );
    }
    let version = app.state().await.version;
    app.messages().await;
    let over = app
        .interact(&command(
            210,
            Some(GUILD),
            MEMBER,
            "remove",
            vec![int("position", 1)],
        ))
        .await;
    assert_ephemeral(
        &over,
        "Slow down: 6 commands every 10 s at most. Try again in 10 s.",
    );
    assert_eq!(app.state().await.version, version, "nothing written");
    assert!(app.messages().await.is_empty(), "nothing sent");
    // Someone else is not slowed, and the user is free again once the window has passed.
    let other = app
        .interact(&command(211, Some(GUILD), OWNER, "queue", vec![]))
        .await;
    assert_eq!(other["type"], 4);
    assert!(other["data"]["flags"].is_null());
    app.clock.advance(WINDOW_MS);
    let again = app
        .interact(&command(212, Some(GUILD), MEMBER, "queue", vec![]))
        .await;
    assert!(again["data"]["flags"].is_null(), "{again}");
}
