//! The interactions endpoint end to end: signed requests into the real Router, with the
//! DynamoDB store and an SQS FIFO queue in moto's server.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use twilight_model::application::interaction::InteractionType;

use interactions_lambda::core::Core;
use interactions_lambda::routes::{router, App, BODY_LIMIT};
use interactions_lambda::verify::Verifier;
use timmybot_shared::clock::ManualClock;
use timmybot_shared::domain::BotOwners;
use timmybot_shared::store::dynamo::DynamoStore;
use timmybot_tests::aws;
use timmybot_tests::backends::T0_MS;
use timmybot_tests::interactions::{self as di, command, subcommand};

const NOW: u64 = T0_MS / 1000;
const OWNER: u64 = 900_001;
const MEMBER: u64 = 900_002;
const GUILD: u64 = 700_001;
const EPHEMERAL: u64 = 1 << 6;

struct TestApp {
    router: Router,
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// The router wired to fresh DynamoDB and SQS resources in moto.
async fn spawn_app() -> TestApp {
    let config = aws::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("interactions");
    aws::create_table(&dynamo, &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        aws::create_fifo_queue(&sqs, &aws::unique("intents"), Duration::from_secs(30)).await;
    let clock = Arc::new(ManualClock::new(T0_MS));
    let store = Arc::new(DynamoStore::new(
        dynamo.clone(),
        table.clone(),
        clock.clone(),
    ));
    let core = Core::new(
        store,
        clock.clone(),
        BotOwners::parse(&OWNER.to_string()).unwrap(),
    );
    let app = App {
        verifier: Verifier::from_hex(&di::public_key_hex()).unwrap(),
        core,
        clock,
    };
    TestApp {
        router: router(Arc::new(app)),
        dynamo,
        table,
        sqs,
        queue_url,
    }
}

impl TestApp {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, ctype, body)
    }

    /// Sends a signed interaction and returns the JSON response, which must be a 200.
    async fn interact(&self, i: &twilight_model::application::interaction::Interaction) -> Value {
        let (status, ctype, body) = self.send(di::signed(i, NOW)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(ctype.as_deref(), Some("application/json"));
        serde_json::from_slice(&body).unwrap()
    }

    async fn items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.dynamo
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    async fn queued(&self) -> usize {
        self.sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .len()
    }

    async fn assert_untouched(&self, what: &str) {
        assert!(
            self.items().await.is_empty(),
            "{what}: the table was written"
        );
        assert_eq!(self.queued().await, 0, "{what}: an intent was sent");
    }
}

fn allowlist_add(
    id: u64,
    guild: Option<u64>,
    user: u64,
) -> twilight_model::application::interaction::Interaction {
    command(id, guild, user, "allowlist", subcommand("add", &[]))
}

fn assert_ephemeral(v: &Value, contains: &str) {
    assert_eq!(v["type"], 4, "{v}");
    assert_eq!(v["data"]["flags"], EPHEMERAL, "{v}");
    let content = v["data"]["content"].as_str().unwrap();
    assert!(content.contains(contains), "{content:?} lacks {contains:?}");
}

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
    assert_eq!(app.items().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_guild_or_a_dm_gets_the_request_access_message_and_nothing_else() {
    let app = spawn_app().await;
    let in_guild = app
        .interact(&command(3, Some(GUILD), MEMBER, "play", vec![]))
        .await;
    assert_ephemeral(&in_guild, "isn't enabled on this server");
    assert_ephemeral(&in_guild, "self-hosted");
    let in_dm = app
        .interact(&command(4, None, MEMBER, "queue", vec![]))
        .await;
    assert_ephemeral(&in_dm, "isn't enabled on this server");
    let button = app
        .interact(&di::button(5, Some(GUILD), MEMBER, "np:skip"))
        .await;
    assert_ephemeral(&button, "isn't enabled");
    let mut auto = command(6, Some(GUILD), MEMBER, "play", vec![]);
    auto.kind = InteractionType::ApplicationCommandAutocomplete;
    let auto = app.interact(&auto).await;
    assert_eq!(auto, json!({"type": 8, "data": {"choices": []}}));
    // A non-owner's /allowlist in an unlisted guild is gated like anything else.
    let sneaky = app.interact(&allowlist_add(7, Some(GUILD), MEMBER)).await;
    assert_ephemeral(&sneaky, "isn't enabled");
    app.assert_untouched("unlisted guild").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_manage_the_allowlist_from_discord() {
    let app = spawn_app().await;
    // From inside the unlisted guild, with no `guild:` option: it approves this guild.
    let added = app.interact(&allowlist_add(10, Some(GUILD), OWNER)).await;
    assert_ephemeral(&added, &format!("Guild `{GUILD}` may now use TimmyBot"));
    let items = app.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["pk"].as_s().unwrap(), &format!("GUILD#{GUILD}"));
    assert_eq!(items[0]["sk"].as_s().unwrap(), "ALLOW");
    assert_eq!(items[0]["approved_by"].as_s().unwrap(), &OWNER.to_string());
    assert!(!items[0].contains_key("ttl"));

    // From a DM, naming another guild, with a note.
    let other = command(
        11,
        None,
        OWNER,
        "allowlist",
        subcommand("add", &[("guild", "700002"), ("note", " friends ")]),
    );
    assert_ephemeral(&app.interact(&other).await, "Guild `700002` may now");

    let listed = app
        .interact(&command(
            12,
            None,
            OWNER,
            "allowlist",
            subcommand("list", &[]),
        ))
        .await;
    assert_ephemeral(&listed, "2 allowed guild(s)");
    assert_ephemeral(&listed, "`700002` by <@900001>: friends");
    assert_eq!(
        listed["data"]["allowed_mentions"]["parse"],
        json!([]),
        "listing pings nobody"
    );

    // A member of the now-allowed guild still cannot manage the list.
    let refused = app.interact(&allowlist_add(13, Some(GUILD), MEMBER)).await;
    assert_ephemeral(&refused, "Only the bot's owners");

    let removed = app
        .interact(&command(
            14,
            None,
            OWNER,
            "allowlist",
            subcommand("remove", &[("guild", "700002")]),
        ))
        .await;
    assert_ephemeral(&removed, "no longer allowed");
    let again = app
        .interact(&command(
            15,
            None,
            OWNER,
            "allowlist",
            subcommand("remove", &[("guild", "700002")]),
        ))
        .await;
    assert_ephemeral(&again, "was not on the allowlist");
    assert_eq!(app.items().await.len(), 1);
    assert_eq!(
        app.queued().await,
        0,
        "managing the allowlist sends no intent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_allowlist_input_gets_a_clear_error_and_changes_nothing() {
    let app = spawn_app().await;
    let bad = app
        .interact(&command(
            20,
            None,
            OWNER,
            "allowlist",
            subcommand("add", &[("guild", "my server")]),
        ))
        .await;
    assert_ephemeral(&bad, "That is not a server id");
    let no_target = app
        .interact(&command(
            21,
            None,
            OWNER,
            "allowlist",
            subcommand("add", &[]),
        ))
        .await;
    assert_ephemeral(&no_target, "Say which server");
    app.assert_untouched("bad allowlist input").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_guild_gets_past_the_gate() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(30, Some(GUILD), OWNER)).await;
    let reply = app
        .interact(&command(31, Some(GUILD), MEMBER, "frobnicate", vec![]))
        .await;
    assert_ephemeral(
        &reply,
        "`/frobnicate` isn't something this version of TimmyBot can do",
    );
}
