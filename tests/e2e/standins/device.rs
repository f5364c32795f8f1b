//! Google's device flow and the YouTube Data API behind its tokens.

use super::*;

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
