//! The worker's memory: the real binary (release), started against moto's SQS and a SQLite
//! store, measured through `GET /stats` and /proc. Two rows:
//!
//! - idle, with its gateway pointed at a closed port (no Discord at all);
//! - with 2,500 guilds in its cache, the most Discord puts on one shard: the fake gateway
//!   sends 2,500 GUILD_CREATEs, each with two members in a voice channel, and the worker is
//!   measured once `/stats` counts them all, and again after 5 s idle.
//!
//! Run: `cargo bench -p voice-worker --bench idle_rss`

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use timmybot_config::names::env;
use timmybot_fake_discord::FakeDiscord;
use timmybot_tests::aws;
use timmybot_tests::chain::guild;

/// Discord's cap on one shard, about.
const GUILDS: u64 = 2_500;
/// Members sitting in a voice channel in each guild (they are in GUILD_CREATE's voice states).
const IN_VOICE: u64 = 2;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let moto = aws::shared();
    let queue = rt.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        aws::create_fifo_queue(&sqs, &aws::unique("idle"), Duration::from_secs(30)).await
    });
    let base = |health: &str, db: &std::path::Path| -> Vec<(String, String)> {
        [
            (env::STORE, format!("sqlite:{}", db.display())),
            (env::INTENT_QUEUE_URL, queue.clone()),
            (env::SHARD_COUNT, "1".into()),
            (env::WORKER_HEALTH_ADDR, health.to_owned()),
            (env::AWS_ENDPOINT_URL, moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("RUST_LOG", "error".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };

    // Idle: nothing to connect to.
    let dir = tempfile::tempdir().expect("tempdir");
    let health = free_addr();
    let closed = free_addr();
    let mut vars = base(&health, &dir.path().join("idle.db"));
    vars.extend([
        (env::DISCORD_TOKEN.to_owned(), "bench-token".to_owned()),
        (env::DISCORD_APPLICATION_ID.to_owned(), "1".to_owned()),
        (
            env::DISCORD_GATEWAY_PROXY.to_owned(),
            format!("ws://{closed}"),
        ),
    ]);
    let mut child = spawn(&vars);
    let start = Instant::now();
    let stats_url = format!("http://{health}/stats");
    let ready = wait_for(&rt, &stats_url, start, |_| true);
    std::thread::sleep(Duration::from_secs(5));
    let idle_stats = get(&rt, &stats_url).expect("stats");
    let idle = memory(&child);
    stop(&mut child);

    // 2,500 guilds from the fake gateway, on one shard.
    let guilds: Vec<_> = (1..=GUILDS).map(guild).collect();
    let discord = rt.block_on(FakeDiscord::start(guilds.clone()));
    for (n, g) in guilds.iter().enumerate() {
        for k in 0..IN_VOICE {
            let user = 1_400_000_000_000_000_000 + n as u64 * IN_VOICE + k;
            discord.set_voice(g.id, user, Some(g.voice_channels[0]));
        }
    }
    let health = free_addr();
    let mut vars = base(&health, &dir.path().join("guilds.db"));
    vars.extend(discord.env());
    let mut child = spawn(&vars);
    let start = Instant::now();
    let stats_url = format!("http://{health}/stats");
    let want = format!("\"guilds\":{GUILDS},");
    let loaded = wait_for(&rt, &stats_url, start, |s| s.contains(&want));
    let at_load = memory(&child);
    std::thread::sleep(Duration::from_secs(5));
    let settled = memory(&child);
    let guild_stats = get(&rt, &stats_url).expect("stats");
    stop(&mut child);

    let mb = |kb: u64| kb as f64 / 1024.0;
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| worker ready (health answers), idle | {:.0} ms after start |",
        ready.as_secs_f64() * 1000.0
    );
    println!(
        "| worker idle RSS (5 s idle, /proc VmRSS) | {:.1} MB |",
        mb(idle.rss_kb)
    );
    println!(
        "| {GUILDS} guilds ({IN_VOICE} members in voice each) cached, from start | {:.0} ms |",
        loaded.as_secs_f64() * 1000.0
    );
    println!(
        "| RSS with {GUILDS} guilds, when all are in | {:.1} MB |",
        mb(at_load.rss_kb)
    );
    println!(
        "| RSS with {GUILDS} guilds, 5 s later | {:.1} MB (peak {:.1} MB, VmHWM) |",
        mb(settled.rss_kb),
        mb(settled.peak_kb)
    );
    println!(
        "| so each cached guild costs | {:.1} KB |",
        (settled.rss_kb.saturating_sub(idle.rss_kb)) as f64 / GUILDS as f64
    );
    println!("| /stats, idle | {idle_stats} |");
    println!("| /stats, {GUILDS} guilds | {guild_stats} |");
}

struct Memory {
    rss_kb: u64,
    peak_kb: u64,
}

/// VmRSS and VmHWM of the child, from /proc.
fn memory(child: &Child) -> Memory {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kb: field("VmRSS:"),
        peak_kb: field("VmHWM:"),
    }
}

fn free_addr() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string()
}

fn spawn(vars: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_voice-worker"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the worker")
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until `/stats` answers and `done` holds for it, returning how long that took.
fn wait_for(
    rt: &tokio::runtime::Runtime,
    url: &str,
    start: Instant,
    done: impl Fn(&str) -> bool,
) -> Duration {
    loop {
        if get(rt, url).is_some_and(|s| done(&s)) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the worker never got there on {url}; last: {:?}",
            get(rt, url)
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
