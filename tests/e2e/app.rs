//! The interactions endpoint as the Lambda runs it: signed requests into the real Router,
//! with the DynamoDB store and an SQS FIFO queue in moto's server, and the fake Discord's
//! REST API. [`spawn_app`] builds one; the suites beside this module use it.

pub(crate) use std::sync::Arc;
pub(crate) use std::time::Duration;

pub(crate) use aws_sdk_sqs::types::MessageSystemAttributeName;
pub(crate) use axum::body::Body;
pub(crate) use axum::http::{Request, StatusCode};
pub(crate) use axum::Router;
pub(crate) use http_body_util::BodyExt;
pub(crate) use serde_json::{json, Value};
pub(crate) use tower::ServiceExt;
pub(crate) use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};
pub(crate) use twilight_model::application::interaction::InteractionType;
pub(crate) use twilight_model::guild::Permissions;
pub(crate) use twilight_model::id::Id;

pub(crate) use timmybot_bus::ecs::EcsService;
pub(crate) use timmybot_bus::sqs::SqsBus;
pub(crate) use timmybot_bus::WorkerRoutes;
pub(crate) use timmybot_commands::adapters::{RestMessenger, RestVoiceLookup};
pub(crate) use timmybot_commands::{Core, Ports, STARTING};
pub(crate) use timmybot_config::{DiscordSettings, Source};
pub(crate) use timmybot_domain::{
    ApplicationId, BotOwners, Clock, GuildId, GuildState, Heartbeat, ManualClock, Platform,
    Position, RetryPolicy, Track, TrackKey, UserId, Versioned,
};
pub(crate) use timmybot_edge::routes::BODY_LIMIT;
pub(crate) use timmybot_edge::{router, App, Verifier};
pub(crate) use timmybot_fake_discord::interactions::{self as di, command, subcommand};
pub(crate) use timmybot_fake_discord::rest::{FakeRest, RunningRest};
pub(crate) use timmybot_store::dynamo::DynamoStore;
pub(crate) use timmybot_store::{update_guild, GuildStore, HeartbeatStore, StoreError};
pub(crate) use timmybot_tests::aws;
pub(crate) use timmybot_tests::backends::T0_MS;
pub(crate) use timmybot_tests::faults::LossyProxy;

pub(crate) const NOW: u64 = T0_MS / 1000;
pub(crate) const OWNER: u64 = 900_001;
pub(crate) const MEMBER: u64 = 900_002;
pub(crate) const GUILD: u64 = 700_001;
pub(crate) const EPHEMERAL: u64 = 1 << 6;
/// Where the dashboard says it is served: the login's redirect names it.
pub(crate) const PUBLIC_URL: &str = "http://bot.test";

pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) proxy: LossyProxy,
    pub(crate) store: Arc<DynamoStore>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) rest: RunningRest,
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) cluster: String,
    pub(crate) service: String,
    pub(crate) dynamo: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queue_url: String,
}

/// The router wired to fresh DynamoDB and SQS resources in moto. The tests send many
/// commands at one frozen instant, so the rate limit is raised; one test checks the real one.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_limited(1_000).await
}

pub(crate) async fn spawn_app_limited(per_window: usize) -> TestApp {
    spawn_app_configured(per_window, Vec::new()).await
}

/// With linked accounts set up by `env` (the stand-ins' URLs and clients), besides the
/// vault key every deployment has.
pub(crate) async fn spawn_app_with_accounts(env: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_configured(1_000, env).await
}

async fn spawn_app_configured(per_window: usize, env: Vec<(&'static str, String)>) -> TestApp {
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
    let discord = DiscordSettings::read(&Source::from_pairs(rest.env())).unwrap();
    let dashboard_settings = timmybot_config::DashboardSettings {
        client_secret: timmybot_fake_discord::oauth::OAUTH_CLIENT_SECRET.into(),
        public_url: PUBLIC_URL.to_owned(),
        web_url: rest.web_url(),
    };
    let http = Arc::new(timmybot_discord::rest::client(
        &discord,
        timmybot_discord::rest::INTERACTION_TIMEOUT,
    ));
    let ports = Ports {
        store: store.clone(),
        workers: WorkerRoutes::single(
            bus,
            Some(Arc::new(EcsService::new(
                aws_sdk_ecs::Client::new(&via),
                cluster.clone(),
                service.clone(),
            ))),
        ),
        clock: clock.clone(),
        voice: Arc::new(RestVoiceLookup::new(http.clone())),
        messenger: Arc::new(RestMessenger::new(http.clone())),
    };
    let mut env = env;
    env.push((
        timmybot_config::names::secret::TOKEN_VAULT_KEY,
        timmybot_tests::chain::VAULT_KEY.to_owned(),
    ));
    let accounts = timmybot_accounts::Accounts::open(
        &timmybot_config::AccountsSettings::read(&Source::from_pairs(env)).unwrap(),
        store.clone(),
        clock.clone(),
        None,
    )
    .unwrap()
    .expect("a vault key, so linked accounts are on");
    let core = Core::new(
        ports,
        BotOwners::parse(&OWNER.to_string()).unwrap(),
        ApplicationId::new(di::APPLICATION_ID).unwrap(),
    )
    .with_rate_limit(per_window)
    .with_accounts(accounts);
    let core = Arc::new(core);
    let dashboard = timmybot_dashboard::Dashboard::new(
        core.clone(),
        &dashboard_settings,
        ApplicationId::new(di::APPLICATION_ID).unwrap(),
        timmybot_tests::chain::VAULT_KEY.as_bytes(),
        http,
        clock.clone(),
    )
    .unwrap();
    let app = App {
        verifier: Verifier::from_hex(&di::public_key_hex()).unwrap(),
        core,
        telemetry: Arc::new(timmybot_edge::telemetry::Silent),
        dashboard: Some(Arc::new(dashboard)),
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
    pub(crate) async fn send(&self, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
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
    pub(crate) async fn interact(
        &self,
        i: &twilight_model::application::interaction::Interaction,
    ) -> Value {
        let (status, ctype, body) = self.send(di::signed(i, NOW)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(ctype.as_deref(), Some("application/json"));
        serde_json::from_slice(&body).unwrap()
    }

    pub(crate) async fn items(
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

    pub(crate) async fn queued(&self) -> usize {
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
    pub(crate) fn writes(&self) -> Vec<String> {
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

    pub(crate) async fn assert_untouched(&self, what: &str) {
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

pub(crate) fn allowlist_add(
    id: u64,
    guild: Option<u64>,
    user: u64,
) -> twilight_model::application::interaction::Interaction {
    command(id, guild, user, "allowlist", subcommand("add", &[]))
}

pub(crate) fn assert_ephemeral(v: &Value, contains: &str) {
    assert_eq!(v["type"], 4, "{v}");
    assert_eq!(v["data"]["flags"], EPHEMERAL, "{v}");
    let content = v["data"]["content"].as_str().unwrap();
    assert!(content.contains(contains), "{content:?} lacks {contains:?}");
}

// ---- Fast commands: answered from the state, mutations written and announced. ----

pub(crate) fn int(name: &str, n: i64) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::Integer(n),
    }
}

pub(crate) fn text(name: &str, v: &str) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::String(v.into()),
    }
}

pub(crate) fn song(tag: &str, by: u64) -> Track {
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
    pub(crate) async fn seed(&self, tags: &[&str]) {
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

    pub(crate) async fn state(&self) -> Versioned<GuildState> {
        self.store
            .load_guild(GuildId::new(GUILD).unwrap())
            .await
            .unwrap()
    }

    pub(crate) fn upcoming(state: &Versioned<GuildState>) -> Vec<String> {
        state
            .value
            .queue
            .upcoming()
            .iter()
            .map(|t| t.key.id().to_owned())
            .collect()
    }

    /// Takes every queued message, acknowledging each: (body, group id, dedup id).
    pub(crate) async fn messages(&self) -> Vec<(Value, String, String)> {
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

pub(crate) fn queue_changed(id: u64) -> (Value, String, String) {
    (
        json!({"v": 1, "id": id.to_string(), "guild_id": GUILD.to_string(),
               "issued_at_ms": T0_MS, "kind": {"type": "queue_changed"}}),
        GUILD.to_string(),
        id.to_string(),
    )
}

// ---- Commands the worker carries out: one intent each, deferred or waking the worker. ----

pub(crate) const VOICE: u64 = 555_001;

impl TestApp {
    pub(crate) async fn worker_awake(&self) {
        self.store
            .beat(
                timmybot_domain::WorkerIndex::FIRST,
                &Heartbeat {
                    task_id: "task-1".into(),
                    started_at_ms: T0_MS - 60_000,
                    last_beat_ms: self.clock.now_ms() - 10_000,
                    active_guilds: vec![],
                    identifies: vec![],
                },
            )
            .await
            .unwrap();
    }

    pub(crate) async fn desired(&self) -> i32 {
        aws::desired_count(&self.ecs, &self.cluster, &self.service).await
    }
}

pub(crate) fn intent(id: u64, kind: Value) -> (Value, String, String) {
    (
        json!({"v": 1, "id": id.to_string(), "guild_id": GUILD.to_string(), "issued_at_ms": T0_MS,
               "reply": {"application_id": di::APPLICATION_ID.to_string(), "token": format!("interaction-token-{id}")},
               "kind": kind}),
        GUILD.to_string(),
        id.to_string(),
    )
}

// ---- Settings and the DJ rule. ----

pub(crate) const OTHER: u64 = 900_003;
pub(crate) const DJ_ROLE: u64 = 77;

pub(crate) fn role(name: &str, id: u64) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value: CommandOptionValue::Role(Id::new(id)),
    }
}

pub(crate) fn manager(
    i: twilight_model::application::interaction::Interaction,
) -> twilight_model::application::interaction::Interaction {
    di::as_member(i, &[], Permissions::MANAGE_GUILD)
}
