//! `timmybot doctor` against moto (table, queue, service, secret) and the fake Discord's
//! REST API: a healthy deployment passes every line, and each broken one fails exactly its
//! own line, with a fix.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use serde_json::Value;
use timmybot_fake_discord::{FakeDiscord, TOKEN};
use timmybot_tests::aws;
use timmybot_tests::deployment::{secret, Deployment};

const TIMMYBOT: &str = env!("CARGO_BIN_EXE_timmybot");

/// The failed check's fix, which every failure carries.
fn fix(report: &Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["fix"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_deployment_passes_every_line() {
    let d = Deployment::healthy(TIMMYBOT).await;
    let (ok, failed, report) = d.doctor();
    assert!(ok && failed.is_empty(), "{failed:?}: {report:#}");
    let passed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "pass")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "DISCORD_TOKEN",
        "DISCORD_PUBLIC_KEY",
        "readable",
        "token_vault_key",
        "table keys",
        "TTL",
        "intent queue",
        "worker service",
        "token",
        "application id",
        "commands",
        "clock",
        "yt-dlp",
        "JavaScript runtime",
        "libopus",
    ] {
        assert!(passed.contains(&name), "{name} did not pass: {report:#}");
    }
    // The text form says the same, and shows no secret.
    let (status, _, text) = tokio::task::block_in_place(|| d.run(&["doctor"]));
    assert!(status.success(), "{text}");
    assert!(
        text.contains("✓ DISCORD_TOKEN: set (from the environment)"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "the token is shown: {text}");
    assert!(text.contains(" 0 failed."), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_deployment_fails_its_own_line_with_a_fix() {
    let config = aws::shared().sdk_config().await;

    // 1. The secret lacks the vault key.
    let mut d = Deployment::healthy(TIMMYBOT).await;
    d.secret = secret(false).await;
    let (ok, failed, report) = d.doctor();
    assert!(!ok);
    assert_eq!(failed, ["token_vault_key"], "{report:#}");
    assert!(fix(&report, "token_vault_key").contains("openssl rand -hex 32"));

    // 2. A table with other keys (TTL on, so only the keys are wrong).
    let mut d = Deployment::healthy(TIMMYBOT).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("wrong-keys");
    dynamo
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    dynamo
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    d.table = table;
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["table keys"], "{report:#}");
    assert!(fix(&report, "table keys").contains("`pk` (S)"));

    // 3. A standard queue instead of FIFO.
    let mut d = Deployment::healthy(TIMMYBOT).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    d.queue = sqs
        .create_queue()
        .queue_name(aws::unique("standard"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["intent queue"], "{report:#}");
    assert!(fix(&report, "intent queue").contains("FIFO"));

    // 4. A bad token: the Discord checks after it are skipped, not failed.
    let mut d = Deployment::healthy(TIMMYBOT).await;
    d.token = "not-the-token".into();
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["token"], "{report:#}");
    assert!(fix(&report, "token").contains("Reset Token"));

    // 5. The application id is not the token's application.
    let d = Deployment::healthy(TIMMYBOT).await;
    d.rest.fake.set_application_id(1_100_000_000_000_000_999);
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["application id"], "{report:#}");

    // 6. This machine's clock is ten minutes off Discord's.
    let d = Deployment::healthy(TIMMYBOT).await;
    d.rest.fake.skew_clock(600);
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["clock"], "{report:#}");
    assert!(fix(&report, "clock").contains("timedatectl"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_registered_by_another_version_are_named() {
    let d = Deployment::healthy(TIMMYBOT).await;
    // Discord holds an older set: one command gone, one extra.
    let http = reqwest::Client::new();
    let url = format!(
        "http://{}/api/v10/applications/{}/commands",
        d.rest.addr,
        FakeDiscord::BOT
    );
    let old = serde_json::json!([
        {"name": "play", "description": "Play a song", "type": 1},
        {"name": "radio", "description": "An old command", "type": 1},
    ]);
    http.put(&url)
        .header("authorization", format!("Bot {TOKEN}"))
        .json(&old)
        .send()
        .await
        .unwrap();
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["commands"], "{report:#}");
    let detail = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "commands")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("/queue") && detail.contains("not this version's: /radio"),
        "{detail}"
    );
    assert!(detail.contains("changed: /play"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workers_queue_and_service_is_checked() {
    // Two workers over four shards, as the Lambda's settings name them.
    let mut d = Deployment::healthy(TIMMYBOT).await;
    d.add_worker().await;
    d.extra = vec![("SHARD_COUNT", "4".into())];
    let (ok, failed, report) = d.doctor();
    assert!(ok && failed.is_empty(), "{failed:?}: {report:#}");
    let detail = |name: &str| -> String {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["status"] == "pass")
            .and_then(|c| c["detail"].as_str())
            .unwrap_or_else(|| panic!("{name} did not pass: {report:#}"))
            .to_owned()
    };
    assert_eq!(detail("worker routing"), "2 worker(s) over 4 shard(s)");
    for name in [
        "intent queue 0",
        "intent queue 1",
        "worker service 0",
        "worker service 1",
    ] {
        detail(name);
    }

    // The second worker's service is gone: only its line fails.
    let (first, _) = d.service.split_once(',').unwrap();
    d.service = format!("{first},{}", aws::unique("gone"));
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["worker service 1"], "{report:#}");
    assert!(fix(&report, "worker service 1").contains("WorkerServiceN"));

    // Two queues and no shard count: the endpoint could not route.
    let mut d = Deployment::healthy(TIMMYBOT).await;
    d.add_worker().await;
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["worker routing"], "{report:#}");
    assert!(fix(&report, "worker routing").contains("SHARD_COUNT"));
}
