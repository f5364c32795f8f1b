//! Interactions endpoint figures, printed as a table:
//! - handler time per command on the SQLite backend, p50 and p99;
//! - Ed25519 verification time;
//! - process start to ready (answering /health) for the release binary.
//!
//! cargo build --release -p interactions-lambda && cargo bench -p timmybot-tests --bench interactions

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use timmybot_bus::local::LocalBus;
use timmybot_bus::IntentBus as _;
use timmybot_commands::ports::{LookupError, VoiceLookup};
use timmybot_commands::{Core, Ports};
use timmybot_domain::RetryPolicy;
use timmybot_domain::{
    AllowEntry, BotOwners, ChannelId, GuildId, Heartbeat, Platform, Position, Track, TrackKey,
    UserId,
};
use timmybot_domain::{Clock, SystemClock};
use timmybot_edge::verify::Verifier;
use timmybot_fake_discord::interactions::{self as di, command};
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::{update_guild, Store, StoreError};
use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};

const GUILD: u64 = 700_001;
const USER: u64 = 900_002;

struct InVoice;

#[async_trait]
impl VoiceLookup for InVoice {
    async fn voice_channel(&self, _: GuildId, _: UserId) -> Result<Option<ChannelId>, LookupError> {
        Ok(ChannelId::new(555).ok())
    }
}

fn opt(name: &str, value: CommandOptionValue) -> CommandDataOption {
    CommandDataOption {
        name: name.into(),
        value,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "| {name:<28} | {:>9.3} | {:>9.3} | {:>6} |",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

async fn handler_table() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("b.db"), clock.clone())
            .await
            .unwrap(),
    );
    let bus: Arc<LocalBus> = Arc::new(LocalBus::new(Duration::from_secs(30)));
    let g = GuildId::new(GUILD).unwrap();
    let user = UserId::new(USER).unwrap();
    store
        .allow(&AllowEntry {
            guild_id: g,
            approved_by: user,
            approved_at_ms: 0,
            note: String::new(),
        })
        .await
        .unwrap();
    let tracks: Vec<Track> = (0..100)
        .map(|i| {
            Track::new(
                TrackKey::new(Platform::Youtube, &format!("v{i}")).unwrap(),
                &format!("Song {i}"),
                &format!("https://youtu.be/v{i}"),
                user,
            )
            .unwrap()
            .with_duration_ms(200_000)
        })
        .collect();
    update_guild::<_, StoreError, _>(
        store.as_ref(),
        clock.as_ref(),
        RetryPolicy::default(),
        g,
        |s| {
            s.queue.add_many(tracks.clone(), Position::End)?;
            s.queue.start(clock.now_ms());
            Ok(())
        },
    )
    .await
    .unwrap();
    let ports = Ports {
        store: store.clone(),
        workers: timmybot_bus::WorkerRoutes::single(bus.clone(), None),
        clock: clock.clone(),
        voice: Arc::new(InVoice),
        messenger: Arc::new(timmybot_tests::fakes::Mailbox::default()),
    };
    let core = Core::new(
        ports,
        BotOwners::default(),
        timmybot_domain::ApplicationId::new(1).expect("an id"),
    )
    .with_rate_limit(usize::MAX);

    println!("\nHandler time per command, SQLite backend, 100-track queue (ms)\n");
    println!("| command                      |       p50 |       p99 |      n |");
    println!("|------------------------------|-----------|-----------|--------|");
    let cases: Vec<(&str, Vec<CommandDataOption>)> = vec![
        ("queue", vec![]),
        ("now-playing", vec![]),
        (
            "loop",
            vec![opt("mode", CommandOptionValue::String("queue".into()))],
        ),
        ("shuffle", vec![]),
        (
            "move",
            vec![
                opt("from", CommandOptionValue::Integer(1)),
                opt("to", CommandOptionValue::Integer(50)),
            ],
        ),
        (
            "play",
            vec![opt(
                "query",
                CommandOptionValue::String("never gonna".into()),
            )],
        ),
        ("skip", vec![]),
    ];
    let mut id = 1_000_000u64;
    for (name, options) in cases {
        let mut samples = Vec::with_capacity(2_000);
        for i in 0..2_200 {
            // The worker's heartbeat stays fresh, as in a busy deployment.
            if i % 500 == 0 {
                let now = clock.now_ms();
                store
                    .beat(
                        timmybot_domain::WorkerIndex::FIRST,
                        &Heartbeat {
                            task_id: "b".into(),
                            started_at_ms: now,
                            last_beat_ms: now,
                            active_guilds: vec![],
                            identifies: vec![],
                        },
                    )
                    .await
                    .unwrap();
            }
            id += 1;
            let interaction = command(id, Some(GUILD), USER, name, options.clone());
            let start = Instant::now();
            let res = core.handle(&interaction).await;
            let took = start.elapsed();
            assert!(res
                .data
                .as_ref()
                .is_none_or(|d| d.content.as_deref().is_none_or(|c| !c.contains("wrong"))));
            if i >= 200 {
                samples.push(took); // the first 200 warm caches
            }
            // Keep the in-process bus from growing without bound.
            for d in bus.receive(10, Duration::ZERO).await.unwrap() {
                bus.ack(&d.receipt).await.unwrap();
            }
        }
        row(&format!("/{name}"), samples);
    }
}

fn ed25519_table() {
    let verifier = Verifier::from_hex(&di::public_key_hex()).unwrap();
    let body = serde_json::to_vec(&command(1, Some(GUILD), USER, "queue", vec![])).unwrap();
    let (sig, ts) = di::sign(&body, 1_767_225_600);
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let start = Instant::now();
        verifier
            .verify(Some(&sig), Some(&ts), &body, 1_767_225_600)
            .unwrap();
        samples.push(start.elapsed());
    }
    println!(
        "\nEd25519 verification of a {}-byte interaction (ms)\n",
        body.len()
    );
    println!("| step                         |       p50 |       p99 |      n |");
    println!("|------------------------------|-----------|-----------|--------|");
    row("verify_strict", samples);
}

fn startup_table() {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("interactions-lambda");
    if !bin.exists() {
        println!("\nStart to ready: {} is missing; run `cargo build --release -p interactions-lambda` first", bin.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut samples = Vec::new();
    for _ in 0..20 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let start = Instant::now();
        let mut child = Command::new(&bin)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("DISCORD_PUBLIC_KEY", di::public_key_hex())
            .env("DISCORD_APPLICATION_ID", "1")
            .env("DISCORD_TOKEN", "t")
            .env(
                "STORE",
                format!("sqlite:{}", dir.path().join("s.db").display()),
            )
            .env("INTENT_QUEUE_URL", "http://127.0.0.1:9/q.fifo")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                s.write_all(b"GET /health HTTP/1.0\r\n\r\n").unwrap();
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.0 200") {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the endpoint never became ready"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        samples.push(start.elapsed());
        let _ = child.kill();
        let _ = child.wait();
    }
    println!("\nRelease binary: process start to answering /health, AWS SDK configured (ms)\n");
    println!("| step                         |       p50 |       p99 |      n |");
    println!("|------------------------------|-----------|-----------|--------|");
    row("start to ready", samples);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        ed25519_table();
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(handler_table());
    ed25519_table();
    startup_table();
}
