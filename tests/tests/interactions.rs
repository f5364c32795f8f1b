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

use interactions_lambda::adapters::discord::RestVoiceLookup;
use interactions_lambda::adapters::ecs::EcsWaker;
use interactions_lambda::core::{Core, Ports};
use interactions_lambda::routes::{router, App, BODY_LIMIT};
use interactions_lambda::verify::Verifier;
use timmybot_shared::bus::sqs::SqsBus;
use timmybot_shared::clock::ManualClock;
use timmybot_shared::domain::BotOwners;
use timmybot_shared::store::dynamo::DynamoStore;
use timmybot_tests::aws;
use timmybot_tests::backends::T0_MS;
use timmybot_tests::discord::rest::{FakeRest, RunningRest};
use timmybot_tests::faults::LossyProxy;
use timmybot_tests::interactions::{self as di, command, subcommand};

const NOW: u64 = T0_MS / 1000;
const OWNER: u64 = 900_001;
const MEMBER: u64 = 900_002;
const GUILD: u64 = 700_001;
const EPHEMERAL: u64 = 1 << 6;

struct TestApp {
    router: Router,
    proxy: LossyProxy,
    store: Arc<DynamoStore>,
    clock: Arc<ManualClock>,
    rest: RunningRest,
    ecs: aws_sdk_ecs::Client,
    cluster: String,
    service: String,
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// The router wired to fresh DynamoDB and SQS resources in moto. The tests send many
/// commands at one frozen instant, so the rate limit is raised; one test checks the real one.
async fn spawn_app() -> TestApp {
    spawn_app_limited(1_000).await
}

async fn spawn_app_limited(per_window: usize) -> TestApp {
    let config = aws::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("interactions");
    aws::create_table(&dynamo, &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        aws::create_fifo_queue(&sqs, &aws::unique("intents"), Duration::from_secs(30)).await;
    let clock = Arc::new(ManualClock::new(T0_MS));
    // The app's own AWS traffic goes through a proxy that records each operation, so tests
    // can count writes on the wire; set-up and assertions talk to moto directly.
    let proxy = LossyProxy::start(aws::shared().addr(), b"no-fault-injected").await;
    let via = aws::sdk_config_for(&proxy.endpoint()).await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&via),
        table.clone(),
        clock.clone(),
    ));
    let bus = Arc::new(SqsBus::new(
        aws_sdk_sqs::Client::new(&via),
        queue_url.clone(),
    ));
    let rest = FakeRest::start().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    let (cluster, service) = (aws::unique("cluster"), aws::unique("worker"));
    aws::create_worker_service(&ecs, &cluster, &service).await;
    let ports = Ports {
        store: store.clone(),
        bus,
        clock: clock.clone(),
        voice: Arc::new(RestVoiceLookup::new(rest.client())),
        waker: Some(Arc::new(EcsWaker::new(
            aws_sdk_ecs::Client::new(&via),
            cluster.clone(),
            service.clone(),
        ))),
    };
    let core = Core::new(
        ports,
        BotOwners::parse(&OWNER.to_string()).unwrap(),
        di::APPLICATION_ID.to_string(),
    )
    .with_rate_limit(per_window);
    let app = App {
        verifier: Verifier::from_hex(&di::public_key_hex()).unwrap(),
        core: Arc::new(core),
    };
    TestApp {
        router: router(Arc::new(app)),
        proxy,
        store,
        clock,
        rest,
        ecs,
        cluster,
        service,
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

    /// AWS write operations the app has sent so far: table writes, intents, wake-ups.
    fn writes(&self) -> Vec<String> {
        const WRITES: [&str; 8] = [
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "TransactWriteItems",
            "SendMessage",
            "SendMessageBatch",
            "UpdateService",
        ];
        self.proxy
            .operations()
            .into_iter()
            .filter(|op| WRITES.iter().any(|w| op.ends_with(&format!(".{w}"))))
            .collect()
    }

    async fn assert_untouched(&self, what: &str) {
        assert_eq!(
            self.writes(),
            Vec::<String>::new(),
            "{what}: the app sent writes"
        );
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
    // The counter does see writes: an owner's approval is exactly one.
    app.interact(&allowlist_add(8, Some(GUILD), OWNER)).await;
    assert_eq!(app.writes(), ["DynamoDB_20120810.PutItem"]);
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

// ---- Fast commands: answered from the state, mutations written and announced. ----

use aws_sdk_sqs::types::MessageSystemAttributeName;
use timmybot_shared::clock::Clock;
use timmybot_shared::domain::{
    GuildId, GuildState, Platform, Position, Track, TrackKey, UserId, Versioned,
};
use timmybot_shared::retry::RetryPolicy;
use timmybot_shared::store::{update_guild, GuildStore, HeartbeatStore, StoreError};
use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};

fn int(name: &str, n: i64) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::Integer(n),
    }
}

fn text(name: &str, v: &str) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::String(v.into()),
    }
}

fn song(tag: &str, by: u64) -> Track {
    Track::new(
        TrackKey::new(Platform::Youtube, tag).unwrap(),
        &format!("Song {tag}"),
        &format!("https://youtu.be/{tag}"),
        UserId::new(by).unwrap(),
    )
    .unwrap()
    .with_artist("Band")
    .with_duration_ms(200_000)
}

impl TestApp {
    /// An allowed guild whose queue holds `tags`, the first playing.
    async fn seed(&self, tags: &[&str]) {
        self.interact(&allowlist_add(1_000, Some(GUILD), OWNER))
            .await;
        let tracks: Vec<Track> = tags.iter().map(|t| song(t, MEMBER)).collect();
        let now = self.clock.now_ms();
        update_guild::<_, StoreError, _>(
            self.store.as_ref(),
            self.clock.as_ref(),
            RetryPolicy::default(),
            GuildId::new(GUILD).unwrap(),
            |s| {
                s.queue.add_many(tracks.clone(), Position::End)?;
                s.queue.start(now);
                Ok(())
            },
        )
        .await
        .unwrap();
    }

    async fn state(&self) -> Versioned<GuildState> {
        self.store
            .load_guild(GuildId::new(GUILD).unwrap())
            .await
            .unwrap()
    }

    fn upcoming(state: &Versioned<GuildState>) -> Vec<String> {
        state
            .value
            .queue
            .upcoming()
            .iter()
            .map(|t| t.key.id().to_owned())
            .collect()
    }

    /// Takes every queued message, acknowledging each: (body, group id, dedup id).
    async fn messages(&self) -> Vec<(Value, String, String)> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let mut taken = Vec::new();
        for m in out.messages.unwrap_or_default() {
            let attrs = m.attributes.unwrap();
            self.sqs
                .delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
            taken.push((
                serde_json::from_str(m.body.as_deref().unwrap()).unwrap(),
                attrs[&MessageSystemAttributeName::MessageGroupId].clone(),
                attrs[&MessageSystemAttributeName::MessageDeduplicationId].clone(),
            ));
        }
        taken
    }
}

fn queue_changed(id: u64) -> (Value, String, String) {
    (
        json!({"v": 1, "id": id.to_string(), "guild_id": GUILD.to_string(),
               "issued_at_ms": T0_MS, "kind": {"type": "queue_changed"}}),
        GUILD.to_string(),
        id.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_pages_with_buttons() {
    let app = spawn_app().await;
    let tags: Vec<String> = (0..23).map(|i| format!("t{i:02}")).collect();
    app.seed(&tags.iter().map(String::as_str).collect::<Vec<_>>())
        .await;

    let page1 = app
        .interact(&command(40, Some(GUILD), MEMBER, "queue", vec![]))
        .await;
    assert_eq!(page1["type"], 4);
    assert_eq!(
        page1["data"]["flags"],
        Value::Null,
        "the queue is shown to the channel"
    );
    let embed = &page1["data"]["embeds"][0];
    let desc = embed["description"].as_str().unwrap();
    assert!(
        desc.contains("**Now playing**\n▶ **Song t00** — Band · 0:00 / 3:20"),
        "{desc}"
    );
    assert!(
        desc.contains("`1.` **Song t01** — Band (3:20) · <@900002>"),
        "{desc}"
    );
    assert!(
        desc.contains("`10.` **Song t10**") && !desc.contains("`11.`"),
        "{desc}"
    );
    assert_eq!(
        embed["footer"]["text"],
        "Page 1/3 · 22 queued · 1:13:20 · loop: off · volume: 100%"
    );
    let buttons = &page1["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "queue:1");
    assert_eq!(buttons[0]["disabled"], true, "no page before the first");
    assert_eq!(buttons[1]["custom_id"], "queue:2");
    assert_ne!(buttons[1]["disabled"], true, "absent or false: enabled");

    let page3 = app
        .interact(&command(
            41,
            Some(GUILD),
            MEMBER,
            "queue",
            vec![int("page", 3)],
        ))
        .await;
    let desc = page3["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        desc.contains("`21.` **Song t21**") && desc.contains("`22.` **Song t22**"),
        "{desc}"
    );
    assert_eq!(
        page3["data"]["components"][0]["components"][1]["disabled"],
        true
    );

    // The page button edits the same message in place.
    let pressed = app
        .interact(&di::button(42, Some(GUILD), MEMBER, "queue:2"))
        .await;
    assert_eq!(pressed["type"], 7);
    let desc = pressed["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap();
    assert!(desc.contains("`11.` **Song t11**"), "{desc}");

    assert_eq!(app.state().await.version, 1, "looking changes nothing");
    assert!(app.messages().await.is_empty(), "looking sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_shows_the_track_or_says_nothing_plays() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(50, Some(GUILD), OWNER)).await;
    let idle = app
        .interact(&command(51, Some(GUILD), MEMBER, "now-playing", vec![]))
        .await;
    assert_ephemeral(&idle, "Nothing is playing");

    app.seed(&["np1", "np2"]).await;
    app.clock.advance(83_000);
    let np = app
        .interact(&command(52, Some(GUILD), MEMBER, "now-playing", vec![]))
        .await;
    let embed = &np["data"]["embeds"][0];
    assert_eq!(embed["title"], "Now playing");
    assert_eq!(embed["description"], "▶ **Song np1** — Band · 1:23 / 3:20");
    assert_eq!(embed["fields"][0]["value"], "<@900002>");
    assert_eq!(embed["fields"][3]["value"], "**Song np2** — Band (3:20)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mutation_is_written_and_sends_one_queue_changed_intent() {
    let app = spawn_app().await;
    app.seed(&["a", "b", "c", "d", "e"]).await;

    let removed = app
        .interact(&command(
            60,
            Some(GUILD),
            MEMBER,
            "remove",
            vec![int("position", 2)],
        ))
        .await;
    assert_eq!(removed["data"]["content"], "Removed **Song c** (was #2).");
    let s = app.state().await;
    assert_eq!(
        (TestApp::upcoming(&s), s.version),
        (vec!["b".into(), "d".into(), "e".into()], 2)
    );
    assert_eq!(app.messages().await, [queue_changed(60)]);

    let moved = app
        .interact(&command(
            61,
            Some(GUILD),
            MEMBER,
            "move",
            vec![int("from", 3), int("to", 1)],
        ))
        .await;
    assert_eq!(moved["data"]["content"], "Moved **Song e** to #1.");
    let s = app.state().await;
    assert_eq!(
        (TestApp::upcoming(&s), s.version),
        (vec!["e".into(), "b".into(), "d".into()], 3)
    );
    assert_eq!(app.messages().await, [queue_changed(61)]);

    let looped = app
        .interact(&command(
            62,
            Some(GUILD),
            MEMBER,
            "loop",
            vec![text("mode", "queue")],
        ))
        .await;
    assert_eq!(looped["data"]["content"], "Loop is now **queue**.");
    assert_eq!(app.state().await.value.queue.loop_mode().as_str(), "queue");
    assert_eq!(app.messages().await, [queue_changed(62)]);

    let shuffled = app
        .interact(&command(63, Some(GUILD), MEMBER, "shuffle", vec![]))
        .await;
    assert_eq!(shuffled["data"]["content"], "Shuffled 3 tracks.");
    let s = app.state().await;
    let mut ids = TestApp::upcoming(&s);
    ids.sort();
    assert_eq!(ids, ["b", "d", "e"]);
    assert_eq!(
        s.value.queue.now_playing().unwrap().track.key.id(),
        "a",
        "the current track stays"
    );
    assert_eq!(app.messages().await, [queue_changed(63)]);

    let cleared = app
        .interact(&command(64, Some(GUILD), MEMBER, "clear", vec![]))
        .await;
    assert_eq!(
        cleared["data"]["content"],
        "Cleared 3 tracks. The current one plays on."
    );
    let s = app.state().await;
    assert!(s.value.queue.upcoming().is_empty());
    assert_eq!(s.value.queue.now_playing().unwrap().track.key.id(), "a");
    assert_eq!(s.version, 6);
    assert_eq!(app.messages().await, [queue_changed(64)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_mutation_explains_itself_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(&["x", "y"]).await;
    let cases: Vec<(twilight_model::application::interaction::Interaction, &str)> = vec![
        (
            command(70, Some(GUILD), MEMBER, "remove", vec![int("position", 9)]),
            "There is no track at position 9",
        ),
        (
            command(71, Some(GUILD), MEMBER, "remove", vec![int("position", 0)]),
            "`position` must be 1 or more",
        ),
        (
            command(72, Some(GUILD), MEMBER, "move", vec![int("from", 1)]),
            "`to` is required",
        ),
        (
            command(
                73,
                Some(GUILD),
                MEMBER,
                "loop",
                vec![text("mode", "sideways")],
            ),
            "Loop mode must be",
        ),
        (
            command(74, Some(GUILD), MEMBER, "shuffle", vec![]),
            "nothing to shuffle",
        ),
    ];
    for (i, expected) in cases {
        assert_ephemeral(&app.interact(&i).await, expected);
    }
    app.interact(&command(75, Some(GUILD), MEMBER, "clear", vec![]))
        .await;
    assert_ephemeral(
        &app.interact(&command(76, Some(GUILD), MEMBER, "clear", vec![]))
            .await,
        "already empty",
    );
    assert_eq!(
        app.state().await.version,
        2,
        "only the one real clear was written"
    );
    assert_eq!(
        app.messages().await,
        [queue_changed(75)],
        "only the real clear was announced"
    );
}

// ---- Commands the worker carries out: one intent each, deferred or waking the worker. ----

use interactions_lambda::core::STARTING;
use timmybot_shared::domain::Heartbeat;

const VOICE: u64 = 555_001;

impl TestApp {
    async fn worker_awake(&self) {
        self.store
            .beat(&Heartbeat {
                task_id: "task-1".into(),
                started_at_ms: T0_MS - 60_000,
                last_beat_ms: self.clock.now_ms() - 10_000,
                active_guilds: vec![],
                identifies: vec![],
            })
            .await
            .unwrap();
    }

    async fn desired(&self) -> i32 {
        aws::desired_count(&self.ecs, &self.cluster, &self.service).await
    }
}

fn intent(id: u64, kind: Value) -> (Value, String, String) {
    (
        json!({"v": 1, "id": id.to_string(), "guild_id": GUILD.to_string(), "issued_at_ms": T0_MS,
               "reply": {"application_id": di::APPLICATION_ID.to_string(), "token": format!("interaction-token-{id}")},
               "kind": kind}),
        GUILD.to_string(),
        id.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_defers_while_the_worker_is_awake() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(80, Some(GUILD), OWNER)).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));

    let res = app
        .interact(&command(
            81,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "  never gonna give you up ")],
        ))
        .await;
    assert_eq!(
        res,
        json!({"type": 5}),
        "deferred: the worker edits the reply"
    );
    assert_eq!(
        app.messages().await,
        [intent(
            81,
            json!({"type": "play", "query": "never gonna give you up",
                           "requester_id": MEMBER.to_string(), "voice_channel_id": VOICE.to_string(),
                           "position": "end"})
        )]
    );
    let calls = app.rest.fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].path,
        format!("/api/v10/guilds/{GUILD}/voice-states/{MEMBER}")
    );
    assert!(calls[0].bot_auth, "the lookup authenticates as the bot");
    assert_eq!(app.desired().await, 0, "an awake worker is not woken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_wakes_a_sleeping_worker_and_says_so() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(90, Some(GUILD), OWNER)).await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    // A heartbeat older than 45 s counts as asleep.
    app.worker_awake().await;
    app.clock.advance(36_000);

    let play = command(
        91,
        Some(GUILD),
        MEMBER,
        "play",
        vec![
            text("query", "lofi"),
            CommandDataOption {
                name: "next".into(),
                value: CommandOptionValue::Boolean(true),
            },
        ],
    );
    let res = app.interact(&play).await;
    assert_eq!(res["type"], 4);
    assert_eq!(res["data"]["content"], STARTING);
    assert_eq!(
        res["data"]["flags"],
        Value::Null,
        "everyone sees the player starting"
    );
    assert_eq!(app.desired().await, 1, "the worker was woken");
    let taken = app.messages().await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0["kind"]["position"], "next");
    assert_eq!(taken[0].0["issued_at_ms"], T0_MS + 36_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_outside_a_voice_channel_is_refused_at_once() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(100, Some(GUILD), OWNER)).await;
    let res = app
        .interact(&command(
            101,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "x")],
        ))
        .await;
    assert_ephemeral(&res, "Join a voice channel first");
    let empty = app
        .interact(&command(
            102,
            Some(GUILD),
            MEMBER,
            "play",
            vec![text("query", "   ")],
        ))
        .await;
    assert_ephemeral(&empty, "Give me a link or something to search for");
    assert!(app.messages().await.is_empty());
    assert_eq!(app.desired().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_controls_send_their_intents() {
    let app = spawn_app().await;
    app.seed(&["p1", "p2"]).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    let cases: Vec<(u64, &str, Vec<CommandDataOption>, Value)> = vec![
        (110, "skip", vec![], json!({"type": "skip"})),
        (111, "pause", vec![], json!({"type": "pause"})),
        (
            112,
            "seek",
            vec![text("position", "1:05")],
            json!({"type": "seek", "position_ms": 65_000}),
        ),
        (
            113,
            "volume",
            vec![int("percent", 150)],
            json!({"type": "volume", "percent": 150}),
        ),
        (114, "stop", vec![], json!({"type": "stop"})),
        (
            115,
            "join",
            vec![],
            json!({"type": "join", "voice_channel_id": VOICE.to_string()}),
        ),
        (116, "leave", vec![], json!({"type": "leave"})),
    ];
    for (id, name, options, kind) in cases {
        let res = app
            .interact(&command(id, Some(GUILD), MEMBER, name, options))
            .await;
        assert_eq!(res, json!({"type": 5}), "/{name}");
        assert_eq!(app.messages().await, [intent(id, kind)], "/{name}");
    }
    assert_eq!(
        app.state().await.version,
        1,
        "the worker, not the endpoint, applies these"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_that_cannot_apply_is_refused_without_an_intent() {
    let app = spawn_app().await;
    app.interact(&allowlist_add(120, Some(GUILD), OWNER)).await;
    app.worker_awake().await;
    for name in ["skip", "pause", "resume"] {
        let res = app
            .interact(&command(121, Some(GUILD), MEMBER, name, vec![]))
            .await;
        assert_ephemeral(&res, "Nothing is playing");
    }
    app.seed(&["q1"]).await;
    let cases: Vec<(&str, Vec<CommandDataOption>, &str)> = vec![
        ("resume", vec![], "Not paused"),
        ("seek", vec![text("position", "1:75")], "Say where to seek"),
        (
            "seek",
            vec![text("position", "4:00")],
            "past the end; the track is 3:20 long",
        ),
        (
            "volume",
            vec![int("percent", 201)],
            "Volume must be between 0 and 200%",
        ),
        (
            "volume",
            vec![int("percent", -1)],
            "Volume must be between 0 and 200%",
        ),
    ];
    for (name, options, expected) in cases {
        let res = app
            .interact(&command(122, Some(GUILD), MEMBER, name, options))
            .await;
        assert_ephemeral(&res, expected);
    }
    assert!(app.messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_autocomplete_suggests_from_this_guilds_history() {
    use timmybot_shared::domain::HistoryEntry;
    use timmybot_shared::store::HistoryStore;
    use twilight_model::application::command::CommandOptionType;

    let app = spawn_app().await;
    app.interact(&allowlist_add(130, Some(GUILD), OWNER)).await;
    let play = |guild: u64, at: u64, tag: &str, title: &str| HistoryEntry {
        guild_id: GuildId::new(guild).unwrap(),
        played_at_ms: T0_MS - at,
        track_key: TrackKey::new(Platform::Youtube, tag).unwrap(),
        requester: UserId::new(MEMBER).unwrap(),
        title: title.into(),
        artist: Some("Rick Astley".into()),
        source: format!("https://youtu.be/{tag}"),
    };
    for entry in [
        play(GUILD, 3_000, "ng", "Never Gonna Give You Up"),
        play(GUILD, 2_000, "ty", "Together Forever"),
        play(GUILD, 1_000, "ng", "Never Gonna Give You Up"),
        play(700_999, 500, "other", "Never Heard In This Guild"),
    ] {
        app.store.record_play(&entry).await.unwrap();
    }
    let typing = |text: &str| {
        let mut i = command(
            131,
            Some(GUILD),
            MEMBER,
            "play",
            vec![CommandDataOption {
                name: "query".into(),
                value: CommandOptionValue::Focused(text.into(), CommandOptionType::String),
            }],
        );
        i.kind = InteractionType::ApplicationCommandAutocomplete;
        i
    };
    let res = app.interact(&typing("never")).await;
    assert_eq!(
        res,
        json!({"type": 8, "data": {"choices": [
            {"name": "Never Gonna Give You Up — Rick Astley", "value": "https://youtu.be/ng"}
        ]}}),
        "one choice per song, from this guild only"
    );
    let all = app.interact(&typing("")).await;
    assert_eq!(all["data"]["choices"].as_array().unwrap().len(), 2);
    assert_eq!(
        all["data"]["choices"][0]["value"], "https://youtu.be/ng",
        "newest first"
    );
}

/// Registering a command the core does not handle would show users a dead command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_command_is_handled() {
    let app = spawn_app().await;
    app.seed(&["h1", "h2"]).await;
    app.worker_awake().await;
    app.rest.fake.set_voice(GUILD, MEMBER, Some(VOICE));
    let specs = timmybot_shared::commands::specs().unwrap();
    for (n, spec) in specs.iter().enumerate() {
        let res = app
            .interact(&command(
                140 + n as u64,
                Some(GUILD),
                MEMBER,
                &spec.name,
                vec![],
            ))
            .await;
        let content = res["data"]["content"].as_str().unwrap_or_default();
        assert!(
            !content.contains("isn't something this version"),
            "/{} is not handled: {res}",
            spec.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_rate_limit_is_told_to_slow_down_and_nothing_happens() {
    use interactions_lambda::core::ratelimit::{LIMIT, WINDOW_MS};
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

// ---- Settings and the DJ rule. ----

use twilight_model::guild::Permissions;
use twilight_model::id::Id;

const OTHER: u64 = 900_003;
const DJ_ROLE: u64 = 77;

fn role(name: &str, id: u64) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::Role(Id::new(id)),
    }
}

fn manager(
    i: twilight_model::application::interaction::Interaction,
) -> twilight_model::application::interaction::Interaction {
    di::as_member(i, &[], Permissions::MANAGE_GUILD)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_for_managers_and_are_stored() {
    use timmybot_shared::store::SettingsStore;
    let app = spawn_app().await;
    app.interact(&allowlist_add(300, Some(GUILD), OWNER)).await;
    let refused = app
        .interact(&command(
            301,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![role("dj_role", DJ_ROLE)],
        ))
        .await;
    assert_ephemeral(&refused, "Only members with Manage Server");

    let saved = app
        .interact(&manager(command(
            302,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![role("dj_role", DJ_ROLE), int("idle_timeout", 5)],
        )))
        .await;
    assert_ephemeral(
        &saved,
        "Settings saved.\n• DJ role: <@&77>\n• Leave when idle after: 5 min",
    );
    let stored = app
        .store
        .guild_settings(GuildId::new(GUILD).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.dj_role.map(|r| r.get()), Some(DJ_ROLE));
    assert_eq!(stored.idle_timeout_secs, Some(300));

    let shown = app
        .interact(&manager(command(
            303,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![],
        )))
        .await;
    assert_ephemeral(&shown, "Current settings:");
    let bad = app
        .interact(&manager(command(
            304,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![int("idle_timeout", 0)],
        )))
        .await;
    assert_ephemeral(&bad, "must be 1 to 60 minutes");
    let cleared = app
        .interact(&manager(command(
            305,
            Some(GUILD),
            MEMBER,
            "settings",
            vec![CommandDataOption {
                name: "clear_dj_role".into(),
                value: CommandOptionValue::Boolean(true),
            }],
        )))
        .await;
    assert_ephemeral(&cleared, "DJ role: none: everyone can control playback");
    assert!(app.messages().await.is_empty(), "settings send no intent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_dj_role_others_may_only_touch_their_own_tracks() {
    let app = spawn_app().await;
    app.seed(&["d1", "d2", "d3"]).await; // every track requested by MEMBER
    app.worker_awake().await;
    app.interact(&manager(command(
        310,
        Some(GUILD),
        OWNER,
        "settings",
        vec![role("dj_role", DJ_ROLE)],
    )))
    .await;

    // OTHER has no DJ role and asked for none of these tracks.
    for (id, name, options, expected) in [
        (311, "shuffle", vec![], "Only DJs can do that"),
        (
            312,
            "remove",
            vec![int("position", 1)],
            "You can only remove tracks you added",
        ),
        (
            314,
            "volume",
            vec![int("percent", 50)],
            "Only DJs can do that",
        ),
    ] {
        let res = app
            .interact(&command(id, Some(GUILD), OTHER, name, options))
            .await;
        assert_ephemeral(&res, expected);
    }
    assert_eq!(app.state().await.version, 1);
    assert!(app.messages().await.is_empty());

    // OTHER's skip of MEMBER's track is a vote, which the worker counts.
    let vote = app
        .interact(&command(313, Some(GUILD), OTHER, "skip", vec![]))
        .await;
    assert_eq!(vote, json!({"type": 5}));
    let votes = app.messages().await;
    assert_eq!(
        votes[0].0["kind"],
        json!({"type": "skip", "vote_by": OTHER.to_string()})
    );

    // MEMBER asked for the tracks, so may remove and skip them without the role.
    let removed = app
        .interact(&command(
            315,
            Some(GUILD),
            MEMBER,
            "remove",
            vec![int("position", 1)],
        ))
        .await;
    assert_eq!(removed["data"]["content"], "Removed **Song d2** (was #1).");
    let skipped = app
        .interact(&command(316, Some(GUILD), MEMBER, "skip", vec![]))
        .await;
    assert_eq!(skipped, json!({"type": 5}));
    // A DJ, and a manager without the role, may do anything.
    let dj = app
        .interact(&di::as_member(
            command(317, Some(GUILD), OTHER, "clear", vec![]),
            &[DJ_ROLE],
            Permissions::empty(),
        ))
        .await;
    assert!(
        dj["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Cleared 1"),
        "{dj}"
    );
    let boss = app
        .interact(&manager(command(
            318,
            Some(GUILD),
            OTHER,
            "volume",
            vec![int("percent", 50)],
        )))
        .await;
    assert_eq!(boss, json!({"type": 5}));
    let kinds: Vec<Value> = app
        .messages()
        .await
        .into_iter()
        .map(|m| m.0["kind"]["type"].clone())
        .collect();
    assert_eq!(kinds, ["queue_changed", "skip", "queue_changed", "volume"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_buttons_act_like_their_commands() {
    use timmybot_shared::commands::buttons;
    let app = spawn_app().await;
    app.seed(&["b1", "b2", "b3"]).await;
    app.worker_awake().await;
    let press = |id: u64, custom: &str| di::button(id, Some(GUILD), MEMBER, custom);

    // Intents for the worker: the press defers as an update of the message it sits on.
    assert_eq!(
        app.interact(&press(400, buttons::PAUSE_RESUME)).await,
        json!({"type": 6})
    );
    assert_eq!(
        app.interact(&press(401, buttons::SKIP)).await,
        json!({"type": 6})
    );
    assert_eq!(
        app.interact(&press(402, buttons::STOP)).await,
        json!({"type": 6})
    );
    let kinds: Vec<Value> = app
        .messages()
        .await
        .into_iter()
        .map(|m| m.0["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!({"type": "pause"}),
            json!({"type": "skip"}),
            json!({"type": "stop"})
        ]
    );

    // Once the worker has paused, the same button resumes.
    update_guild::<_, StoreError, _>(
        app.store.as_ref(),
        app.clock.as_ref(),
        RetryPolicy::default(),
        GuildId::new(GUILD).unwrap(),
        |s| Ok(s.queue.pause(T0_MS)?),
    )
    .await
    .unwrap();
    app.interact(&press(403, buttons::PAUSE_RESUME)).await;
    assert_eq!(app.messages().await[0].0["kind"], json!({"type": "resume"}));

    // Loop cycles off, track, queue; shuffle shuffles. Both are changes made here.
    assert_ephemeral(
        &app.interact(&press(404, buttons::LOOP)).await,
        "Loop is now **track**.",
    );
    assert_ephemeral(
        &app.interact(&press(405, buttons::LOOP)).await,
        "Loop is now **queue**.",
    );
    assert_eq!(app.state().await.value.queue.loop_mode().as_str(), "queue");
    assert_ephemeral(
        &app.interact(&press(406, buttons::SHUFFLE)).await,
        "Shuffled 2 tracks.",
    );
    assert_eq!(
        app.messages().await.len(),
        3,
        "one queue_changed per change"
    );

    // With the worker asleep, the presser is told it is starting.
    app.clock.advance(60_000);
    assert_ephemeral(
        &app.interact(&press(407, buttons::SKIP)).await,
        "Starting the player",
    );
    assert_eq!(app.desired().await, 1);
}
