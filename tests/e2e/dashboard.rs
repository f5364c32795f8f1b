//! The dashboard as the Lambda serves it (the real Router, DynamoDB and SQS in moto, the
//! fake Discord's OAuth2 and REST): logging in, and the access rules at the HTTP level. The
//! browser tests (`cli/tests/cli/dashboard.rs`) drive the same pages in Chromium.

use super::app::*;
use axum::http::header;
use timmybot_tests::dashboard::{self as dash, csrf_of, get, post, Answer};

use timmybot_domain::{AccessRequest, AllowEntry, AuditScope};
use timmybot_store::{AccessStore, AllowlistStore, AuditStore, SettingsStore};

const OTHER_GUILD: u64 = 700_002;
const UNLISTED_GUILD: u64 = 700_003;
const STRANGER: u64 = 900_003;
const DJ_ROLE: u64 = 800_001;

/// The app, with a member of the allowlisted guild, an owner, and a stranger who is only in
/// another (also allowlisted) guild.
async fn dashboard_app() -> TestApp {
    let app = spawn_app().await;
    let f = &app.rest.fake;
    f.set_bot_guilds(&[
        (GUILD, "Home".into()),
        (OTHER_GUILD, "Elsewhere".into()),
        (UNLISTED_GUILD, "Unlisted".into()),
    ]);
    f.add_member(GUILD, "Home", MEMBER, "alice", &[]);
    f.add_member(UNLISTED_GUILD, "Unlisted", MEMBER, "alice", &[]);
    f.add_member(GUILD, "Home", OWNER, "owner", &[]);
    f.add_member(OTHER_GUILD, "Elsewhere", STRANGER, "mallory", &[]);
    for g in [GUILD, OTHER_GUILD] {
        app.store
            .allow(&AllowEntry::new(gid(g), uid(OWNER), T0_MS, "test"))
            .await
            .unwrap();
    }
    app
}

fn gid(n: u64) -> GuildId {
    GuildId::new(n).unwrap()
}

fn uid(n: u64) -> UserId {
    UserId::new(n).unwrap()
}

async fn call(app: &TestApp, req: Request<Body>) -> Answer {
    dash::call(&app.router, req).await
}

async fn approve_at_discord(app: &TestApp, authorize: &str, user: u64) -> String {
    dash::approve_at_discord(&app.rest, PUBLIC_URL, authorize, user).await
}

async fn login(app: &TestApp, user: u64) -> String {
    dash::login(&app.router, &app.rest, PUBLIC_URL, user).await
}

async fn seed_queue(app: &TestApp, titles: &[&str], requester: u64) {
    update_guild(
        app.store.as_ref(),
        app.clock.as_ref(),
        RetryPolicy::default(),
        gid(GUILD),
        |s: &mut GuildState| {
            for t in titles {
                let key = TrackKey::new(Platform::Youtube, t).unwrap();
                let track = Track::new(key, t, &format!("https://youtu.be/{t}"), uid(requester))
                    .unwrap()
                    .with_duration_ms(180_000);
                s.queue.add(track, Position::End)?;
            }
            s.queue.start(T0_MS);
            Ok::<_, StoreError>(())
        },
    )
    .await
    .unwrap();
}

async fn upcoming(app: &TestApp) -> Vec<String> {
    let state = app.store.load_guild(gid(GUILD)).await.unwrap().value;
    state
        .queue
        .upcoming()
        .iter()
        .map(|t| t.title.clone())
        .collect()
}

#[tokio::test]
async fn logging_in_lists_the_allowlisted_servers_shared_with_the_bot_and_keeps_no_token() {
    let app = dashboard_app().await;
    let front = call(&app, get("/dashboard", None)).await;
    assert_eq!(front.status, StatusCode::OK);
    assert!(front.body.contains("Log in with Discord"));
    let csp = front.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));

    let start = call(&app, get("/dashboard/login", None)).await;
    let line = start.set_cookie_line("timmybot_login").unwrap();
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "plain-HTTP public URL: {line}");
    let callback = approve_at_discord(&app, start.location(), MEMBER).await;
    let done = call(
        &app,
        get(&callback, start.cookie("timmybot_login").as_deref()),
    )
    .await;
    let line = done.set_cookie_line("timmybot_session").unwrap();
    assert!(
        line.contains("HttpOnly")
            && line.contains("SameSite=Lax")
            && line.contains("Path=/dashboard"),
        "{line}"
    );
    assert_eq!(
        app.rest.fake.live_user_tokens(),
        0,
        "the login revoked its token"
    );
    let session = done.cookie("timmybot_session").unwrap();

    let home = call(&app, get("/dashboard", Some(&session))).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("alice"), "{}", home.body);
    assert!(home.body.contains(&format!("/dashboard/guilds/{GUILD}")));
    // In the unlisted guild, but the bot does not serve it; never in the other one.
    assert!(
        !home.body.contains(&UNLISTED_GUILD.to_string()),
        "{}",
        home.body
    );
    assert!(!home.body.contains(&OTHER_GUILD.to_string()));
    // A member is no owner.
    assert!(!home.body.contains("/dashboard/owner"));
}

#[tokio::test]
async fn a_login_state_works_once_and_only_in_the_browser_that_started_it() {
    let app = dashboard_app().await;
    let start = call(&app, get("/dashboard/login", None)).await;
    let login_cookie = start.cookie("timmybot_login").unwrap();
    let callback = approve_at_discord(&app, start.location(), MEMBER).await;

    // Another browser (no cookie, or its own login's cookie) cannot finish it.
    let planted = call(&app, get(&callback, None)).await;
    assert_eq!(planted.status, StatusCode::BAD_REQUEST);
    let other = call(&app, get("/dashboard/login", None)).await;
    let crossed = call(
        &app,
        get(&callback, other.cookie("timmybot_login").as_deref()),
    )
    .await;
    assert_eq!(crossed.status, StatusCode::BAD_REQUEST);
    assert!(crossed.cookie("timmybot_session").is_none());

    let done = call(&app, get(&callback, Some(&login_cookie))).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // The same callback again, cookie and all: the state is spent.
    let replay = call(&app, get(&callback, Some(&login_cookie))).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.cookie("timmybot_session").is_none());
    // An oversized or cancelled callback is refused without echoing it.
    let long = format!("/dashboard/callback?code={}&state=x", "A".repeat(5000));
    let refused = call(&app, get(&long, Some(&login_cookie))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(!refused.body.contains("AAAA"));
    let cancelled = call(
        &app,
        get("/dashboard/callback?error=access_denied&state=x", None),
    )
    .await;
    assert!(cancelled.body.contains("cancelled"));
}

#[tokio::test]
async fn a_user_cannot_read_or_change_a_guild_they_are_not_in() {
    let app = dashboard_app().await;
    seed_queue(&app, &["a", "b", "c"], MEMBER).await;
    let before = upcoming(&app).await;
    let stranger = login(&app, STRANGER).await;
    let home = call(&app, get("/dashboard", Some(&stranger))).await;
    let csrf = csrf_of(&home.body);

    for path in [
        format!("/dashboard/guilds/{GUILD}"),
        format!("/dashboard/guilds/{GUILD}/live"),
        format!("/dashboard/guilds/{UNLISTED_GUILD}"),
        "/dashboard/guilds/not-a-guild".to_owned(),
        "/dashboard/owner".to_owned(),
    ] {
        let page = call(&app, get(&path, Some(&stranger))).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !page.body.contains("Song") && !page.body.contains(">b<"),
            "{path}"
        );
    }
    for op in ["shuffle", "remove:1", "skip"] {
        let res = call(
            &app,
            post(
                &format!("/dashboard/guilds/{GUILD}"),
                Some(&stranger),
                &[("csrf", &csrf), ("op", op)],
            ),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{op}");
    }
    assert_eq!(upcoming(&app).await, before);
    // Their own guild opens.
    let own = call(
        &app,
        get(&format!("/dashboard/guilds/{OTHER_GUILD}"), Some(&stranger)),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);

    // A member who is kicked loses the guild once the brief cache lapses.
    let member = login(&app, MEMBER).await;
    let path = format!("/dashboard/guilds/{GUILD}");
    assert_eq!(
        call(&app, get(&path, Some(&member))).await.status,
        StatusCode::OK
    );
    app.rest.fake.remove_member(GUILD, MEMBER);
    app.clock
        .advance(timmybot_dashboard::adapters::guilds::MEMBER_TTL_MS + 1);
    assert_eq!(
        call(&app, get(&path, Some(&member))).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_change_without_its_csrf_token_changes_nothing() {
    let app = dashboard_app().await;
    seed_queue(&app, &["a", "b", "c", "d"], MEMBER).await;
    let before = upcoming(&app).await;
    let alice = login(&app, MEMBER).await;
    let owner = login(&app, OWNER).await;
    let owners_page = call(&app, get("/dashboard", Some(&owner))).await;
    let owners_token = csrf_of(&owners_page.body);
    let path = format!("/dashboard/guilds/{GUILD}");
    for form in [
        vec![("op", "remove:1")],
        vec![("csrf", ""), ("op", "remove:1")],
        vec![("csrf", "bm90LXRoZS10b2tlbg"), ("op", "remove:1")],
        // Another session's token.
        vec![("csrf", owners_token.as_str()), ("op", "remove:1")],
    ] {
        let res = call(&app, post(&path, Some(&alice), &form)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    assert_eq!(upcoming(&app).await, before);
    // Logging out is a change too.
    let out = call(&app, post("/dashboard/logout", Some(&alice), &[])).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);

    // With the page's own token, the same request goes through.
    let page = call(&app, get(&path, Some(&alice))).await;
    let csrf = csrf_of(&page.body);
    let res = call(
        &app,
        post(&path, Some(&alice), &[("csrf", &csrf), ("op", "remove:1")]),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Removed b"), "{}", res.body);
    assert_eq!(upcoming(&app).await, ["c", "d"]);
}

#[tokio::test]
async fn an_expired_or_tampered_session_is_sent_to_log_in() {
    let app = dashboard_app().await;
    let alice = login(&app, MEMBER).await;
    let path = format!("/dashboard/guilds/{GUILD}");
    assert_eq!(
        call(&app, get(&path, Some(&alice))).await.status,
        StatusCode::OK
    );

    // Tampered: one character of the payload changed, signature kept.
    let (name, value) = alice.split_once('=').unwrap();
    let mut bytes = value.as_bytes().to_vec();
    let i = 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());
    let res = call(&app, get(&path, Some(&tampered))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/dashboard");
    // A session made under another key.
    let forged = timmybot_dashboard::session::Keys::derive(b"someone else's key")
        .unwrap()
        .seal_session(&timmybot_dashboard::session::Session::new(
            uid(MEMBER),
            "alice",
            vec![],
            T0_MS,
        ));
    let res = call(
        &app,
        get(&path, Some(&format!("timmybot_session={forged}"))),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // Expired: twelve hours on.
    app.clock
        .advance(timmybot_dashboard::session::SESSION_MS + 1);
    let res = call(&app, get(&path, Some(&alice))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let poll = Request::get(format!("{path}/live"))
        .header(header::COOKIE, &alice)
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let res = call(&app, poll).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers["hx-redirect"], "/dashboard");
    let front = call(&app, get("/dashboard", Some(&alice))).await;
    assert!(front.body.contains("Log in with Discord"));
}

#[tokio::test]
async fn controls_keep_the_slash_commands_permission_rules() {
    let app = dashboard_app().await;
    // A DJ role: alice lacks it; the owner's account holds it.
    let mut settings = app.store.guild_settings(gid(GUILD)).await.unwrap();
    settings.dj_role = Some(timmybot_domain::RoleId::new(DJ_ROLE).unwrap());
    app.store.save_guild_settings(&settings).await.unwrap();
    app.rest
        .fake
        .add_member(GUILD, "Home", OWNER, "owner", &[DJ_ROLE]);
    seed_queue(&app, &["a", "b", "c"], OWNER).await;
    let before = upcoming(&app).await;

    let alice = login(&app, MEMBER).await;
    let path = format!("/dashboard/guilds/{GUILD}");
    let csrf = csrf_of(&call(&app, get(&path, Some(&alice))).await.body);
    let said = |res: &Answer| res.body.clone();
    let res = call(
        &app,
        post(&path, Some(&alice), &[("csrf", &csrf), ("op", "shuffle")]),
    )
    .await;
    assert!(said(&res).contains("Only DJs can do that"), "{}", res.body);
    let res = call(
        &app,
        post(&path, Some(&alice), &[("csrf", &csrf), ("op", "remove:1")]),
    )
    .await;
    assert!(
        said(&res).contains("You can only remove tracks you added"),
        "{}",
        res.body
    );
    assert_eq!(upcoming(&app).await, before);

    let dj = login(&app, OWNER).await;
    let csrf = csrf_of(&call(&app, get(&path, Some(&dj))).await.body);
    let res = call(
        &app,
        post(&path, Some(&dj), &[("csrf", &csrf), ("op", "down:1")]),
    )
    .await;
    assert!(said(&res).contains("Moved b to #2"), "{}", res.body);
    assert_eq!(upcoming(&app).await, ["c", "b"]);
}

#[tokio::test]
async fn controls_share_the_slash_commands_rate_limit() {
    let app = spawn_app_limited(3).await;
    let f = &app.rest.fake;
    f.set_bot_guilds(&[(GUILD, "Home".into())]);
    f.add_member(GUILD, "Home", MEMBER, "alice", &[]);
    app.store
        .allow(&AllowEntry::new(gid(GUILD), uid(OWNER), T0_MS, "test"))
        .await
        .unwrap();
    seed_queue(&app, &["a", "b", "c", "d", "e"], MEMBER).await;
    let alice = login(&app, MEMBER).await;
    // One slash command counts against the same allowance.
    app.interact(&command(1, Some(GUILD), MEMBER, "queue", vec![]))
        .await;
    let path = format!("/dashboard/guilds/{GUILD}");
    let csrf = csrf_of(&call(&app, get(&path, Some(&alice))).await.body);
    let mut said = Vec::new();
    for _ in 0..3 {
        let res = call(
            &app,
            post(&path, Some(&alice), &[("csrf", &csrf), ("op", "down:1")]),
        )
        .await;
        said.push(res.body);
    }
    assert!(said[0].contains("Moved"), "{}", said[0]);
    assert!(said[1].contains("Moved"), "{}", said[1]);
    assert!(said[2].contains("Slow down"), "{}", said[2]);
}

#[tokio::test]
async fn an_owner_approves_a_request_and_the_audit_log_says_from_where() {
    let app = dashboard_app().await;
    let request = AccessRequest {
        guild_id: gid(UNLISTED_GUILD),
        server_name: "Unlisted".into(),
        requested_by: uid(MEMBER),
        channel_id: None,
        use_case: "movie nights".into(),
        expected_listeners: 12,
        requested_at_ms: T0_MS,
    };
    assert!(app.store.request_access(&request).await.unwrap());
    // A member cannot see the owner page, nor post to it.
    let alice = login(&app, MEMBER).await;
    let alice_csrf = csrf_of(&call(&app, get("/dashboard", Some(&alice))).await.body);
    let op = format!("approve:{UNLISTED_GUILD}");
    let res = call(
        &app,
        post(
            "/dashboard/owner",
            Some(&alice),
            &[("csrf", &alice_csrf), ("op", &op)],
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!app.store.is_allowed(gid(UNLISTED_GUILD)).await.unwrap());

    let owner = login(&app, OWNER).await;
    let page = call(&app, get("/dashboard/owner", Some(&owner))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("movie nights"), "{}", page.body);
    assert!(page.body.contains("Workers"));
    let csrf = csrf_of(&page.body);
    let res = call(
        &app,
        post(
            "/dashboard/owner",
            Some(&owner),
            &[("csrf", &csrf), ("op", &op)],
        ),
    )
    .await;
    assert!(res.body.contains("Approved"), "{}", res.body);
    assert!(app.store.is_allowed(gid(UNLISTED_GUILD)).await.unwrap());
    let log = app.store.audit_log(AuditScope::Bot, 5).await.unwrap();
    assert_eq!(log[0].origin, timmybot_domain::AuditOrigin::Dashboard);
    assert_eq!(log[0].target, Some(gid(UNLISTED_GUILD)));
    // Alice's home page now lists it.
    let home = call(&app, get("/dashboard", Some(&alice))).await;
    assert!(home
        .body
        .contains(&format!("/dashboard/guilds/{UNLISTED_GUILD}")));
}
