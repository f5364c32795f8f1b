//! A whole AWS deployment in moto and the fake Discord's REST API, for `timmybot doctor`'s
//! tests and bench: table, FIFO queue with its DLQ, the worker's ECS service, the secret,
//! and stand-ins for the tools the worker runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use timmybot_fake_discord::rest::{FakeRest, RunningRest};
use timmybot_fake_discord::{interactions as di, FakeDiscord, TOKEN};

use crate::aws;

/// A deployment, as the AWS shape has it, with each part named so a case can swap one.
pub struct Deployment {
    /// The `timmybot` binary under test.
    pub bin_path: std::path::PathBuf,
    pub rest: RunningRest,
    pub table: String,
    pub queue: String,
    pub cluster: String,
    pub service: String,
    pub secret: String,
    pub token: String,
    /// More settings, such as `SHARD_COUNT` for several workers.
    pub extra: Vec<(&'static str, String)>,
    bin: tempfile::TempDir,
}

pub fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("make the script executable");
}

pub async fn secret(vault_key: bool) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&aws::shared().sdk_config().await);
    let mut body = serde_json::json!({ "DISCORD_PUBLIC_KEY": di::public_key_hex() });
    if vault_key {
        body["token_vault_key"] = "ab".repeat(32).into();
    }
    aws::create_secret(&client, "doctor-secret", &body.to_string()).await
}

/// A worker's FIFO intents queue, with its DLQ, as the stack makes one.
async fn intent_queue(config: &aws_config::SdkConfig) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let (queue, _) =
        aws::create_fifo_queue_with_dlq(&sqs, &aws::unique("doctor"), Duration::from_secs(30), 5)
            .await;
    queue
}

impl Deployment {
    /// Every part made and right, and the commands registered through `timmybot`.
    pub async fn healthy(timmybot: &str) -> Self {
        let config = aws::shared().sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&config);
        let table = aws::unique("doctor");
        aws::create_table(&dynamo, &table).await;
        let queue = intent_queue(&config).await;
        let ecs = aws_sdk_ecs::Client::new(&config);
        let (cluster, service) = (aws::unique("cluster"), aws::unique("worker"));
        aws::create_worker_service(&ecs, &cluster, &service).await;
        let rest = FakeRest::start().await;
        // The tools the worker runs: a yt-dlp released today, and a JavaScript runtime.
        let bin = tempfile::tempdir().expect("a folder for the fake tools");
        script(bin.path(), "yt-dlp", "date -u +%Y.%m.%d");
        script(bin.path(), "deno", "echo deno 2.9.8");
        let d = Self {
            bin_path: timmybot.into(),
            rest,
            table,
            queue,
            cluster,
            service,
            secret: secret(true).await,
            token: TOKEN.to_owned(),
            extra: Vec::new(),
            bin,
        };
        // The commands as this version registers them.
        let registered = d.run(&["register-commands"]);
        assert!(registered.0.success(), "{}", registered.1);
        d
    }

    pub fn envs(&self) -> Vec<(&'static str, String)> {
        let moto = aws::shared();
        let mut envs = vec![
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
        ];
        envs.extend(self.extra.iter().cloned());
        envs
    }

    /// Adds worker `n`'s queue (FIFO, with its DLQ) and service, as the stack's
    /// `IntentQueueUrlN` and `WorkerServiceN` outputs would list them.
    pub async fn add_worker(&mut self) {
        let config = aws::shared().sdk_config().await;
        let queue = intent_queue(&config).await;
        let service = aws::unique("worker");
        aws::create_worker_service(&aws_sdk_ecs::Client::new(&config), &self.cluster, &service)
            .await;
        self.queue = format!("{},{queue}", self.queue);
        self.service = format!("{},{service}", self.service);
    }

    pub fn run(&self, args: &[&str]) -> (std::process::ExitStatus, String, String) {
        let mut cmd = Command::new(&self.bin_path);
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
    pub fn doctor(&self) -> (bool, Vec<String>, Value) {
        let (status, stderr, stdout) =
            tokio::task::block_in_place(|| self.run(&["doctor", "--json"]));
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
        let failed = report["checks"]
            .as_array()
            .expect("the report lists its checks")
            .iter()
            .filter(|c| c["status"] == "fail")
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        (status.success(), failed, report)
    }
}
