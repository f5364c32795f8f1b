//! The fake's OAuth2 login and the guild and member endpoints a web dashboard reads: as a
//! browser and the `oauth2` crate speak to them, and through twilight-http.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, RedirectUrl, RevocationUrl,
    Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::rest::{FakeRest, RunningRest};
use timmybot_fake_discord::{FakeDiscord, OAUTH_CLIENT_SECRET, TOKEN};
use twilight_model::guild::Permissions;
use twilight_model::id::Id;

const REDIRECT: &str = "http://dashboard.test/callback";
const GUILD: u64 = 500_000_000_000_000_001;
const OTHER_GUILD: u64 = 500_000_000_000_000_002;
const DJ_ROLE: u64 = 600_000_000_000_000_001;
const ALICE: u64 = 700_000_000_000_000_001;
const BOB: u64 = 700_000_000_000_000_002;
const MANAGE_GUILD: u64 = 1 << 5;
const ADMINISTRATOR: u64 = 1 << 3;

/// A browser: it does not follow the redirect back to the dashboard, which does not exist.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_params<'a>(scope: &'a str, state: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("scope", scope),
        ("state", state),
        ("redirect_uri", REDIRECT),
    ]
}

const CLIENT_ID: &str = "1100000000000000001";

async fn started() -> RunningRest {
    let rest = FakeRest::start().await;
    // The client id is the application id.
    assert_eq!(CLIENT_ID, FakeDiscord::BOT.to_string());
    rest.fake
        .add_member(GUILD, "The Guild", ALICE, "alice", &[DJ_ROLE]);
    rest.fake.add_member(GUILD, "The Guild", BOB, "bob", &[]);
    rest.fake.set_role(GUILD, DJ_ROLE, MANAGE_GUILD);
    rest
}

/// Presses a button of the authorize page: posts `form` and returns where the 302 goes.
async fn press(rest: &RunningRest, form: &[(&str, &str)]) -> String {
    let response = browser()
        .post(format!("{}/oauth2/authorize", rest.web_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The consent screen's choice of `user`: the code and state the redirect carries.
async fn choose(rest: &RunningRest, user: u64, state: &str) -> (String, String) {
    let mut form = authorize_params("identify guilds", state);
    let user = user.to_string();
    form.push(("user", &user));
    let location = press(rest, &form).await;
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let url = url::Url::parse(&location).unwrap();
    let param = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {k} in {location}"))
    };
    (param("code"), param("state"))
}

async fn exchange(
    rest: &RunningRest,
    code: &str,
    redirect_uri: &str,
    secret: &str,
) -> (StatusCode, serde_json::Value) {
    let response = browser()
        .post(format!("{}/api/v10/oauth2/token", rest.web_url()))
        .basic_auth(CLIENT_ID, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn login(rest: &RunningRest, user: u64) -> String {
    let (code, _) = choose(rest, user, "s").await;
    let (status, body) = exchange(rest, &code, REDIRECT, OAUTH_CLIENT_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get_as(rest: &RunningRest, path: &str, token: &str) -> (StatusCode, serde_json::Value) {
    let response = browser()
        .get(format!("{}/api/v10{path}", rest.web_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_authorize_page_offers_each_user_and_escapes_what_it_echoes() {
    let rest = started().await;
    rest.fake.add_user(3, "<b>mallory</b>");
    let state = "\"><script>alert(1)</script>";
    let response = browser()
        .get(format!("{}/oauth2/authorize", rest.web_url()))
        .query(&authorize_params("identify guilds", state))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Authorize TimmyBot</title>"), "{page}");
    let mallory = page
        .find("Authorize as &lt;b&gt;mallory&lt;/b&gt;")
        .unwrap();
    let alice = page.find("Authorize as alice").unwrap();
    let bob = page.find("Authorize as bob").unwrap();
    assert!(mallory < alice && alice < bob, "users by id: {page}");
    assert!(page.contains("<form method=\"post\" action=\"/oauth2/authorize\">"));
    assert!(page.contains(&format!("name=\"user\" value=\"{ALICE}\"")));
    assert!(
        page.contains("name=\"state\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"")
    );
    assert!(
        !page.contains("<script>") && !page.contains("<b>"),
        "{page}"
    );
    assert!(page.contains(">Cancel</button>"));

    for (params, why) in [
        (
            vec![
                ("response_type", "code"),
                ("client_id", "2"),
                ("scope", "identify guilds"),
                ("redirect_uri", REDIRECT),
            ],
            "client_id",
        ),
        (authorize_params("identify", "s"), "guilds"),
        (
            vec![
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("scope", "identify guilds"),
                ("redirect_uri", "javascript:alert(1)"),
            ],
            "redirect_uri",
        ),
    ] {
        let response = browser()
            .get(format!("{}/oauth2/authorize", rest.web_url()))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(why), "{page}");
        assert!(!page.contains("<script>"), "{page}");
    }
}

#[tokio::test]
async fn a_code_is_exchanged_once_for_the_redirect_it_was_issued_for() {
    let rest = started().await;
    let state = "a b&c=d/é";
    let (code, echoed) = choose(&rest, ALICE, state).await;
    assert_eq!(echoed, state);
    assert_eq!(rest.fake.oauth_codes_issued(), 1);

    let (status, body) = exchange(&rest, &code, REDIRECT, "wrong-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = exchange(
        &rest,
        &code,
        "http://dashboard.test/other",
        OAUTH_CLIENT_SECRET,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let (status, body) = exchange(&rest, &code, REDIRECT, OAUTH_CLIENT_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 604_800);
    assert_eq!(body["scope"], "identify guilds");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(rest.fake.live_user_tokens(), 1);

    let (status, body) = exchange(&rest, &code, REDIRECT, OAUTH_CLIENT_SECRET).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(rest.fake.live_user_tokens(), 1);

    // Credentials in the body work as well as in Basic auth; other grants do not.
    let (code, _) = choose(&rest, BOB, "s").await;
    let token = |grant: &'static str, code: String| {
        browser()
            .post(format!("{}/api/v10/oauth2/token", rest.web_url()))
            .form(&[
                ("grant_type", grant),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", CLIENT_ID),
                ("client_secret", OAUTH_CLIENT_SECRET),
            ])
            .send()
    };
    let response = token("client_credentials", code.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    let response = token("authorization_code", code).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(rest.fake.live_user_tokens(), 2);
}

#[tokio::test]
async fn cancel_and_an_existing_query_redirect_as_oauth2_says() {
    let rest = started().await;
    let mut form = authorize_params("identify guilds", "st ate");
    form.push(("cancel", "1"));
    let location = press(&rest, &form).await;
    let url = url::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("error".into(), "access_denied".into())),
        "{location}"
    );
    assert!(
        pairs.contains(&("state".into(), "st ate".into())),
        "{location}"
    );
    assert_eq!(rest.fake.oauth_codes_issued(), 0);

    let redirect = "https://dashboard.test/cb?next=%2Fguilds";
    let user = ALICE.to_string();
    let location = press(
        &rest,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("scope", "identify guilds"),
            ("redirect_uri", redirect),
            ("user", &user),
        ],
    )
    .await;
    assert!(
        location.starts_with("https://dashboard.test/cb?next=%2Fguilds&code="),
        "{location}"
    );
}

#[tokio::test]
async fn a_bearer_token_reads_its_user_and_guilds_until_revoked() {
    let rest = started().await;
    rest.fake
        .add_member(OTHER_GUILD, "Alice's Own", ALICE, "alice", &[]);
    rest.fake.set_guild_owner(OTHER_GUILD, ALICE);
    let alice = login(&rest, ALICE).await;
    let bob = login(&rest, BOB).await;

    let (status, me) = get_as(&rest, "/users/@me", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], ALICE.to_string());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["discriminator"], "0");

    let permissions = |guilds: &serde_json::Value, guild: u64| -> (u64, bool) {
        let g = guilds
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"].as_str().and_then(|id| id.parse().ok()) == Some(guild))
            .unwrap_or_else(|| panic!("{guild} not in {guilds}"));
        (
            g["permissions"].as_str().unwrap().parse().unwrap(),
            g["owner"].as_bool().unwrap(),
        )
    };
    let (_, guilds) = get_as(&rest, "/users/@me/guilds", &alice).await;
    assert_eq!(guilds.as_array().unwrap().len(), 2, "{guilds}");
    let (bits, owner) = permissions(&guilds, GUILD);
    assert_eq!(
        (bits & MANAGE_GUILD, bits & ADMINISTRATOR, owner),
        (MANAGE_GUILD, 0, false)
    );
    let (bits, owner) = permissions(&guilds, OTHER_GUILD);
    assert!(owner);
    assert_eq!(
        bits & (MANAGE_GUILD | ADMINISTRATOR),
        MANAGE_GUILD | ADMINISTRATOR
    );

    // twilight's models read the same answers.
    let http = twilight_http::Client::builder()
        .proxy(rest.addr.to_string(), true)
        .token(format!("Bearer {alice}"))
        .build();
    let me = http.current_user().await.unwrap().model().await.unwrap();
    assert_eq!((me.id, me.name.as_str()), (Id::new(ALICE), "alice"));
    let guilds = http
        .current_user_guilds()
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    let manage = guilds.iter().find(|g| g.id == Id::new(GUILD)).unwrap();
    assert!(manage.permissions.contains(Permissions::MANAGE_GUILD));
    assert!(!manage.permissions.contains(Permissions::ADMINISTRATOR));

    let (_, guilds) = get_as(&rest, "/users/@me/guilds", &bob).await;
    assert_eq!(guilds.as_array().unwrap().len(), 1, "{guilds}");
    assert_eq!(permissions(&guilds, GUILD), (0, false));
    // @everyone's permissions reach every member; an administrator role gives all.
    rest.fake.set_role(GUILD, GUILD, 1 << 10);
    let (_, guilds) = get_as(&rest, "/users/@me/guilds", &bob).await;
    assert_eq!(permissions(&guilds, GUILD), (1 << 10, false));
    rest.fake
        .add_member(GUILD, "The Guild", BOB, "bob", &[DJ_ROLE]);
    rest.fake.set_role(GUILD, DJ_ROLE, ADMINISTRATOR);
    let (_, guilds) = get_as(&rest, "/users/@me/guilds", &bob).await;
    assert_eq!(permissions(&guilds, GUILD).0, Permissions::all().bits());
    rest.fake.remove_member(GUILD, BOB);
    let (_, guilds) = get_as(&rest, "/users/@me/guilds", &bob).await;
    assert_eq!(guilds, serde_json::json!([]));

    let revoke = browser()
        .post(format!("{}/api/v10/oauth2/token/revoke", rest.web_url()))
        .basic_auth(CLIENT_ID, Some(OAUTH_CLIENT_SECRET))
        .form(&[
            ("token", alice.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(revoke.text().await.unwrap(), "");
    assert_eq!(rest.fake.live_user_tokens(), 1);
    let (status, body) = get_as(&rest, "/users/@me", &alice).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        serde_json::json!({ "code": 0, "message": "401: Unauthorized" })
    );
    let (status, _) = get_as(&rest, "/users/@me/guilds", &alice).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get_as(&rest, "/users/@me", &bob).await;
    assert_eq!(status, StatusCode::OK);
}

/// The whole login as a dashboard does it with the `oauth2` crate: its authorize URL and its
/// code exchange (client credentials in Basic auth).
#[tokio::test]
async fn the_oauth2_crate_logs_in_and_out() {
    let rest = started().await;
    let base = rest.web_url();
    let client = BasicClient::new(ClientId::new(CLIENT_ID.into()))
        .set_client_secret(ClientSecret::new(OAUTH_CLIENT_SECRET.into()))
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/api/v10/oauth2/token")).unwrap())
        .set_revocation_url(
            RevocationUrl::new(format!("{base}/api/v10/oauth2/token/revoke")).unwrap(),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (authorize, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("identify".into()))
        .add_scope(Scope::new("guilds".into()))
        .url();

    // The browser: the page, then the form it posts for Alice (the same parameters).
    let page = browser().get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Authorize as alice"));
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user".into(), ALICE.to_string()));
    let back = browser()
        .post(format!("{base}/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let param = |k: &str| {
        back.query_pairs()
            .find(|(key, _)| key == k)
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(&param("state"), csrf.secret());

    let http = browser();
    let token = client
        .exchange_code(AuthorizationCode::new(param("code")))
        .request_async(&http)
        .await
        .unwrap();
    let scopes: Vec<_> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["identify", "guilds"]);
    assert_eq!(
        token.expires_in(),
        Some(std::time::Duration::from_secs(604_800))
    );
    let (status, me) = get_as(&rest, "/users/@me", token.access_token().secret()).await;
    assert_eq!(
        (status, &me["username"]),
        (StatusCode::OK, &serde_json::json!("alice"))
    );

    // The oauth2 crate revokes over https only (RFC 7009), and the fake speaks http: this is
    // the request it would send.
    assert!(client
        .revoke_token(StandardRevocableToken::AccessToken(
            token.access_token().clone()
        ))
        .is_err());
    let revoke = http
        .post(format!("{base}/api/v10/oauth2/token/revoke"))
        .basic_auth(CLIENT_ID, Some(OAUTH_CLIENT_SECRET))
        .form(&[
            ("token", token.access_token().secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(rest.fake.live_user_tokens(), 0);
}

#[tokio::test]
async fn twilight_reads_the_guild_its_roles_and_members() {
    let discord = FakeDiscord::start(vec![FakeGuild {
        id: GUILD,
        name: "The Guild".into(),
        text_channel: GUILD + 10,
        voice_channels: vec![GUILD + 11],
    }])
    .await;
    discord.add_member(GUILD, "The Guild", ALICE, "alice", &[DJ_ROLE]);
    // Alice's own guild has no bot in it: the bot cannot look it up.
    discord.add_member(OTHER_GUILD, "Alice's Own", ALICE, "alice", &[]);
    let rest = &discord.rest.fake;
    rest.set_role(GUILD, DJ_ROLE, MANAGE_GUILD);
    rest.set_role(GUILD, GUILD, 1 << 10);
    rest.set_guild_owner(GUILD, BOB);
    let http = twilight_http::Client::builder()
        .proxy(discord.rest.addr.to_string(), true)
        .token(format!("Bot {TOKEN}"))
        .build();

    let guild = http
        .guild(Id::new(GUILD))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(guild.name, "The Guild");
    assert_eq!(guild.owner_id, Id::new(BOB));
    let roles: Vec<_> = guild
        .roles
        .iter()
        .map(|r| {
            (
                r.id.get(),
                r.name.as_str(),
                r.permissions.bits(),
                r.position,
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (GUILD, "@everyone", 1 << 10, 0),
            (DJ_ROLE, &*format!("Role {DJ_ROLE}"), MANAGE_GUILD, 1),
        ]
    );

    let member = http
        .guild_member(Id::new(GUILD), Id::new(ALICE))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(member.user.id, Id::new(ALICE));
    assert_eq!(member.user.name, "alice");
    assert_eq!(member.roles, [Id::new(DJ_ROLE)]);

    let api_code = |e: twilight_http::Error| match e.kind() {
        twilight_http::error::ErrorType::Response {
            status,
            error: twilight_http::api_error::ApiError::General(general),
            ..
        } => (status.get(), general.code),
        other => panic!("not an API error: {other:?}"),
    };
    let missing = http
        .guild_member(Id::new(GUILD), Id::new(BOB))
        .await
        .unwrap_err();
    assert_eq!(api_code(missing), (404, 10007));
    let not_ours = http.guild(Id::new(OTHER_GUILD)).await.unwrap_err();
    assert_eq!(api_code(not_ours), (404, 10004));

    // The bot's guilds are the ones it started in, whatever its users belong to.
    let guilds = http
        .current_user_guilds()
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    let guilds: Vec<_> = guilds
        .iter()
        .map(|g| (g.id.get(), g.name.as_str(), g.owner))
        .collect();
    assert_eq!(guilds, [(GUILD, "The Guild", false)]);
}
