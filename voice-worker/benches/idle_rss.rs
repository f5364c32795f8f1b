//! The worker's idle memory: the real binary (release), started against moto's SQS and a
//! SQLite store, with its gateway pointed at a closed port (there is no Discord here), left
//! idle for a few seconds, then measured through `GET /stats` and /proc.
//!
//! Run: `cargo bench -p voice-worker --bench idle_rss`

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use timmybot_config::names::env;
use timmybot_tests::aws;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let moto = aws::shared();
    let queue = rt.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        aws::create_fifo_queue(&sqs, &aws::unique("idle"), Duration::from_secs(30)).await
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let health = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_voice-worker"))
        .env(env::DISCORD_TOKEN, "bench-token")
        .env(env::DISCORD_APPLICATION_ID, "1")
        .env(
            env::STORE,
            format!("sqlite:{}", dir.path().join("bot.db").display()),
        )
        .env(env::INTENT_QUEUE_URL, &queue)
        .env(env::SHARD_COUNT, "1")
        .env(env::DISCORD_GATEWAY_PROXY, format!("ws://{closed}"))
        .env(env::WORKER_HEALTH_ADDR, health.to_string())
        .env(env::AWS_ENDPOINT_URL, moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the worker");
    let start = Instant::now();
    let stats_url = format!("http://{health}/stats");
    let ready = wait_for(&rt, &stats_url, start);
    std::thread::sleep(Duration::from_secs(5));
    let stats = get(&rt, &stats_url).expect("stats");
    let vm_rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| worker ready (health answers) | {:.0} ms after start | |",
        ready.as_secs_f64() * 1000.0
    );
    println!(
        "| worker idle RSS (5 s idle, /proc VmRSS) | {:.1} MB | ≤ 30 MB |",
        vm_rss as f64 / 1024.0
    );
    println!("| /stats | {stats} | |");
}

/// Waits for the health port, returning how long the worker took to answer.
fn wait_for(rt: &tokio::runtime::Runtime, url: &str, start: Instant) -> Duration {
    loop {
        if get(rt, url).is_some() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the worker never answered on {url}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn get(rt: &tokio::runtime::Runtime, url: &str) -> Option<String> {
    rt.block_on(async {
        let r = reqwest::get(url).await.ok()?;
        r.text().await.ok()
    })
}
