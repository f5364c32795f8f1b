//! template.yaml agrees with the code: env var names, table keys and TTL, the FIFO queues, the
//! routes, and each worker's own queue, service, index and role for every WorkerCount. The
//! checker must also catch each kind of drift, shown on altered copies.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt;

use timmybot_bus::local::LocalBus;
use timmybot_commands::ports::{LookupError, VoiceLookup};
use timmybot_commands::{Core, Ports};
use timmybot_config::names::{env, routes, table};
use timmybot_domain::{BotOwners, ChannelId, GuildId, UserId};
use timmybot_domain::{Clock, SystemClock};
use timmybot_edge::routes::{router, App};
use timmybot_edge::verify::Verifier;
use timmybot_fake_discord::interactions::public_key_hex;
use timmybot_store::sqlite::SqliteStore;
use timmybot_tests::template::{default_path, Binary, Drift, Template};

fn template_text() -> String {
    let path = default_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn drifts_of(text: &str) -> Vec<Drift> {
    Template::parse(text).expect("template parses").check()
}

fn list(drifts: &[Drift]) -> String {
    drifts
        .iter()
        .map(|d| format!("  - {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_template_agrees_with_the_code() {
    let drifts = drifts_of(&template_text());
    assert!(
        drifts.is_empty(),
        "template.yaml disagrees with shared::names:\n{}",
        list(&drifts)
    );
}

#[test]
fn short_form_tags_parse() {
    let t = Template::parse(&template_text()).expect("template parses");
    let functions = t.resources_of(timmybot_tests::template::FUNCTION);
    assert_eq!(functions.len(), 1);
    let vars = t.lambda_env(functions[0].1);
    let table_name = vars
        .iter()
        .find(|(n, _)| n == env::TABLE_NAME)
        .map(|(_, v)| v)
        .expect("TABLE_NAME set");
    // `!Ref Table`, kept as a tagged value rather than lost or rejected.
    assert!(
        matches!(table_name, serde_yaml_ng::Value::Tagged(t) if t.tag == "Ref"),
        "{table_name:?}"
    );
}

/// Applies `from -> to` once, failing if `from` is gone (so a mutation never goes quiet).
fn altered(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the drift test's anchor {from:?} is no longer in template.yaml; update the test"
    );
    text.replacen(from, to, 1)
}

/// Whether a reported drift is the one a mutation should cause.
type Expect = Box<dyn Fn(&Drift) -> bool>;

#[test]
fn each_drift_is_reported() {
    let text = template_text();
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "TTL attribute renamed",
            altered(&text, "AttributeName: ttl", "AttributeName: expires"),
            Box::new(|d| {
                *d == Drift::Ttl {
                    want: table::TTL_ATTRIBUTE,
                    got: Some("expires".into()),
                }
            }),
        ),
        (
            "TTL disabled",
            altered(
                &text,
                "AttributeName: ttl\n        Enabled: true",
                "AttributeName: ttl\n        Enabled: false",
            ),
            Box::new(|d| matches!(d, Drift::Ttl { .. })),
        ),
        (
            "partition key renamed",
            altered(
                &text,
                "AttributeName: pk\n          KeyType: HASH",
                "AttributeName: id\n          KeyType: HASH",
            ),
            Box::new(
                |d| matches!(d, Drift::KeySchema { key_type: "HASH", got: Some(g), .. } if g == "id"),
            ),
        ),
        (
            "Lambda env var renamed",
            altered(
                &text,
                "          TABLE_NAME: !Ref Table",
                "          TABLE: !Ref Table",
            ),
            Box::new(|d| {
                *d == Drift::UnknownEnv {
                    binary: Binary::Interactions,
                    name: "TABLE".into(),
                }
            }),
        ),
        (
            "Lambda env var dropped",
            altered(&text, "          WORKER_CLUSTER: !Ref WorkerCluster\n", ""),
            Box::new(|d| {
                *d == Drift::MissingEnv {
                    binary: Binary::Interactions,
                    name: env::WORKER_CLUSTER.into(),
                }
            }),
        ),
        (
            "worker env var renamed",
            altered(&text, "- Name: IDLE_SHUTDOWN", "- Name: IDLE_TIMEOUT"),
            Box::new(|d| {
                *d == Drift::UnknownEnv {
                    binary: Binary::Worker,
                    name: "IDLE_TIMEOUT".into(),
                }
            }),
        ),
        (
            "worker's queue URL dropped",
            altered(
                &text,
                "                - Name: INTENT_QUEUE_URL\n                  Value: !Ref { \"Fn::Sub\": \"IntentQueue${N}\" }\n",
                "",
            ),
            Box::new(|d| {
                *d == Drift::MissingEnv {
                    binary: Binary::Worker,
                    name: env::INTENT_QUEUE_URL.into(),
                }
            }),
        ),
        (
            "STORE not dynamodb",
            altered(&text, "STORE: dynamodb", "STORE: dynamo"),
            Box::new(|d| {
                matches!(
                    d,
                    Drift::StoreNotDynamo {
                        binary: Binary::Interactions,
                        ..
                    }
                )
            }),
        ),
        (
            "the Lambda's queue list starting at the table",
            altered(&text, "            - - !Ref IntentQueue0", "            - - !Ref Table"),
            Box::new(|d| {
                matches!(d, Drift::RoutingList { name: "INTENT_QUEUE_URL", what, .. }
                    if what.starts_with("entry 0"))
            }),
        ),
        (
            "a worker's queue URL pointing at the table",
            altered(
                &text,
                "                  Value: !Ref { \"Fn::Sub\": \"IntentQueue${N}\" }",
                "                  Value: !Ref Table",
            ),
            Box::new(|d| {
                matches!(
                    d,
                    Drift::NotARef {
                        binary: Binary::Worker,
                        name: "INTENT_QUEUE_URL",
                        ..
                    }
                )
            }),
        ),
        (
            "FifoQueue dropped",
            altered(&text, "          FifoQueue: true\n", ""),
            Box::new(|d| {
                *d == Drift::NotFifo {
                    queue: "IntentQueue0".into(),
                }
            }),
        ),
        (
            "content-based dedup on",
            altered(
                &text,
                "ContentBasedDeduplication: false",
                "ContentBasedDeduplication: true",
            ),
            Box::new(|d| {
                *d == Drift::ContentBasedDedup {
                    queue: "IntentQueue0".into(),
                }
            }),
        ),
        (
            "every worker on worker 0's queue",
            altered(
                &text,
                "                  Value: !Ref { \"Fn::Sub\": \"IntentQueue${N}\" }",
                "                  Value: !Ref IntentQueue0",
            ),
            Box::new(|d| {
                matches!(d, Drift::WorkerWiring { count: 2, worker: 1, what }
                    if what.contains("shares the queue IntentQueue0"))
            }),
        ),
        (
            "every worker claiming index 0",
            altered(&text, "                  Value: !Ref N\n", "                  Value: \"0\"\n"),
            Box::new(|d| {
                matches!(d, Drift::WorkerWiring { count: 2, what, .. }
                    if what.contains("two task definitions have this index"))
            }),
        ),
        (
            "a worker's role consuming worker 0's queue",
            altered(
                &text,
                "Resource: !GetAtt [!Sub \"IntentQueue${N}\", Arn]",
                "Resource: !GetAtt [IntentQueue0, Arn]",
            ),
            Box::new(|d| {
                matches!(d, Drift::WorkerWiring { worker: 1, what, .. }
                    if what.contains("reaches a queue other than IntentQueue1"))
            }),
        ),
        (
            "a worker's role scaling another's service",
            altered(
                &text,
                "service/${WorkerCluster}/${AWS::StackName}-worker-${N}",
                "service/${WorkerCluster}/${AWS::StackName}-worker-0",
            ),
            Box::new(|d| {
                matches!(d, Drift::WorkerWiring { worker: 1, what, .. }
                    if what.contains("scales a service other than its own"))
            }),
        ),
        (
            "the Lambda's queue list missing worker 1",
            altered(
                &text,
                "              - !If [HasWorker1, !Sub \",https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${AWS::StackName}-intents-1.fifo\", \"\"]\n",
                "",
            ),
            Box::new(|d| {
                matches!(d, Drift::RoutingList { count: 2, name: "INTENT_QUEUE_URL", what }
                    if what == "1 entries for 2 workers")
            }),
        ),
        (
            "the Lambda's service list naming worker 2 as worker 1",
            altered(
                &text,
                "!Sub \",${AWS::StackName}-worker-1\"",
                "!Sub \",${AWS::StackName}-worker-2\"",
            ),
            Box::new(|d| {
                matches!(d, Drift::RoutingList { name: "WORKER_SERVICE", what, .. }
                    if what.starts_with("entry 1"))
            }),
        ),
        (
            "a WorkerCount with one worker too few",
            altered(
                &text,
                "\"3\": { Indexes: [\"0\", \"1\", \"2\"] }",
                "\"3\": { Indexes: [\"0\", \"1\"] }",
            ),
            Box::new(|d| {
                *d == Drift::WorkerCount {
                    count: 3,
                    kind: "task definitions",
                    found: 2,
                }
            }),
        ),
        (
            "route renamed",
            altered(&text, "Path: /interactions", "Path: /interaction"),
            Box::new(|d| matches!(d, Drift::UnservedRoute { path, .. } if path == "/interaction")),
        ),
        (
            "route's method changed",
            altered(&text, "Method: POST", "Method: GET"),
            Box::new(|d| {
                matches!(d, Drift::MissingRoute { method: "POST", path } if *path == routes::INTERACTIONS)
            }),
        ),
        (
            "the Spotify callback not routed",
            altered(
                &text,
                "Path: /oauth/spotify/callback",
                "Path: /oauth/spotify/done",
            ),
            Box::new(|d| {
                matches!(d, Drift::MissingRoute { method: "GET", path } if *path == routes::SPOTIFY_CALLBACK)
            }),
        ),
    ];
    for (what, copy, expected) in cases {
        let drifts = drifts_of(&copy);
        assert!(
            drifts.iter().any(&expected),
            "{what}: the checker did not report it; it reported:\n{}",
            list(&drifts)
        );
    }
}

struct NoVoice;

#[async_trait]
impl VoiceLookup for NoVoice {
    async fn voice_channel(&self, _: GuildId, _: UserId) -> Result<Option<ChannelId>, LookupError> {
        Ok(None)
    }
}

/// The real router answers every route the HTTP API sends it: neither 404 nor 405.
#[tokio::test]
async fn the_router_serves_every_template_route() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::open(dir.path().join("t.db"), clock.clone())
        .await
        .expect("sqlite store");
    let clock_for_dashboard = clock.clone();
    let ports = Ports {
        store: Arc::new(store),
        workers: timmybot_bus::WorkerRoutes::single(
            Arc::new(LocalBus::new(Duration::from_secs(30))),
            None,
        ),
        clock,
        voice: Arc::new(NoVoice),
        messenger: Arc::new(timmybot_tests::fakes::Mailbox::default()),
    };
    let core = Arc::new(Core::new(
        ports,
        BotOwners::default(),
        timmybot_domain::ApplicationId::new(1).unwrap(),
    ));
    // Configured but never called: the probe reaches each route's handler, not Discord.
    timmybot_config::tls::install_crypto_provider();
    let dashboard = timmybot_dashboard::Dashboard::new(
        core.clone(),
        &timmybot_config::DashboardSettings {
            client_secret: "unused".into(),
            public_url: "https://bot.example".into(),
            web_url: "https://discord.example".into(),
        },
        timmybot_domain::ApplicationId::new(1).unwrap(),
        b"key",
        Arc::new(twilight_http::Client::new("unused".into())),
        clock_for_dashboard,
    )
    .expect("dashboard settings");
    let app = App {
        verifier: Verifier::from_hex(&public_key_hex()).expect("test key"),
        core,
        telemetry: Arc::new(timmybot_edge::telemetry::Silent),
        dashboard: Some(Arc::new(dashboard)),
    };
    let router = router(Arc::new(app));
    let status = |method: &str, path: &str| {
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let router = router.clone();
        async move { router.oneshot(req).await.expect("infallible").status() }
    };
    // The probe can tell a served route from an unserved one.
    assert_eq!(status("GET", "/no-such-route").await, StatusCode::NOT_FOUND);

    let routes = Template::parse(&template_text())
        .expect("template parses")
        .routes();
    assert!(
        !routes.is_empty(),
        "template.yaml routes nothing to the Lambda"
    );
    for r in routes {
        // A greedy path stands for every page under it: probe one the method serves.
        let probe = match r.method.as_str() {
            "POST" => r.path.replace("{proxy+}", "owner"),
            _ => r.path.replace("{proxy+}", "assets/app.css"),
        };
        let got = status(&r.method, &probe).await;
        assert!(
            got != StatusCode::NOT_FOUND && got != StatusCode::METHOD_NOT_ALLOWED,
            "template.yaml routes {} {} to the Lambda, but the router answers {got}",
            r.method,
            r.path
        );
    }
}
