//! `timmybot doctor` against moto (table, queue, service, secret) and the fake Discord's
//! REST API: a healthy deployment passes every line, and each broken one fails exactly its
//! own line, with a fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use serde_json::Value;
use timmybot_fake_discord::rest::{FakeRest, RunningRest};
use timmybot_fake_discord::{interactions as di, FakeDiscord, TOKEN};
use timmybot_tests::aws;

/// A deployment, as the AWS shape has it, with each part named so a case can swap one.
struct Deployment {
    rest: RunningRest,
    table: String,
    queue: String,
    cluster: String,
    service: String,
    secret: String,
    token: String,
    bin: tempfile::TempDir,
}

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

async fn secret(vault_key: bool) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&aws::shared().sdk_config().await);
    let id = aws::unique("doctor-secret");
    let mut body = serde_json::json!({ "DISCORD_PUBLIC_KEY": di::public_key_hex() });
    if vault_key {
        body["token_vault_key"] = "ab".repeat(32).into();
    }
    client
        .create_secret()
        .name(&id)
        .secret_string(body.to_string())
        .send()
        .await
        .unwrap();
    id
}

impl Deployment {
    async fn healthy() -> Self {
        let config = aws::shared().sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&config);
        let table = aws::unique("doctor");
        aws::create_table(&dynamo, &table).await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let (queue, _) = aws::create_fifo_queue_with_dlq(
            &sqs,
            &aws::unique("doctor"),
            Duration::from_secs(30),
            5,
        )
        .await;
        let ecs = aws_sdk_ecs::Client::new(&config);
        let (cluster, service) = (aws::unique("cluster"), aws::unique("worker"));
        aws::create_worker_service(&ecs, &cluster, &service).await;
        let rest = FakeRest::start().await;
        // The tools the worker runs: a yt-dlp released today, and a JavaScript runtime.
        let bin = tempfile::tempdir().unwrap();
        script(bin.path(), "yt-dlp", "date -u +%Y.%m.%d");
        script(bin.path(), "deno", "echo deno 2.9.8");
        let d = Self {
            rest,
            table,
            queue,
            cluster,
            service,
            secret: secret(true).await,
            token: TOKEN.to_owned(),
            bin,
        };
        // The commands as this version registers them.
        let registered = d.run(&["register-commands"]);
        assert!(registered.0.success(), "{}", registered.1);
        d
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        let moto = aws::shared();
        vec![
            ("DISCORD_TOKEN", self.token.clone()),
            ("DISCORD_APPLICATION_ID", FakeDiscord::BOT.to_string()),
            ("DISCORD_REST_PROXY", self.rest.addr.to_string()),
            ("BOT_OWNER_IDS", "42".into()),
            ("SECRET_ID", self.secret.clone()),
            ("STORE", "dynamodb".into()),
            ("TABLE_NAME", self.table.clone()),
            ("INTENT_QUEUE_URL", self.queue.clone()),
            ("WORKER_CLUSTER", self.cluster.clone()),
            ("WORKER_SERVICE", self.service.clone()),
            (
                "YTDLP_PATH",
                self.bin.path().join("yt-dlp").display().to_string(),
            ),
            (
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.path().display()),
            ),
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ]
    }

    fn run(&self, args: &[&str]) -> (std::process::ExitStatus, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_timmybot"));
        cmd.env_clear();
        for (k, v) in self.envs() {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().expect("run timmybot");
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// `doctor --json`: whether it succeeded, and the names of the checks that failed.
    fn doctor(&self) -> (bool, Vec<String>, Value) {
        let (status, stderr, stdout) =
            tokio::task::block_in_place(|| self.run(&["doctor", "--json"]));
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
        let failed = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        (status.success(), failed, report)
    }
}

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
    let d = Deployment::healthy().await;
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
    let mut d = Deployment::healthy().await;
    d.secret = secret(false).await;
    let (ok, failed, report) = d.doctor();
    assert!(!ok);
    assert_eq!(failed, ["token_vault_key"], "{report:#}");
    assert!(fix(&report, "token_vault_key").contains("openssl rand -hex 32"));

    // 2. A table with other keys (TTL on, so only the keys are wrong).
    let mut d = Deployment::healthy().await;
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
    let mut d = Deployment::healthy().await;
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
    let mut d = Deployment::healthy().await;
    d.token = "not-the-token".into();
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["token"], "{report:#}");
    assert!(fix(&report, "token").contains("Reset Token"));

    // 5. The application id is not the token's application.
    let d = Deployment::healthy().await;
    d.rest.fake.set_application_id(1_100_000_000_000_000_999);
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["application id"], "{report:#}");

    // 6. This machine's clock is ten minutes off Discord's.
    let d = Deployment::healthy().await;
    d.rest.fake.skew_clock(600);
    let (_, failed, report) = d.doctor();
    assert_eq!(failed, ["clock"], "{report:#}");
    assert!(fix(&report, "clock").contains("timedatectl"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_registered_by_another_version_are_named() {
    let d = Deployment::healthy().await;
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
