//! The whole chain on loopback, for end-to-end tests and latency benches: the fake Discord,
//! the interactions router (as the Lambda wires it, on moto's DynamoDB and SQS) and the voice
//! worker (as its binary wires it, on the same table and queue).
//!
//! The voice server runs DAVE v1 unless a test asks otherwise, and [`Chain::hears`] and
//! [`Chain::stop_worker`] fail the test if any frame after a call's DAVE group was ready came
//! without end-to-end encryption.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http_body_util::BodyExt;
use interactions_lambda::startup::{assemble, Backends};
use serde_json::Value;
use timmybot_bus::sqs::SqsBus;
use timmybot_config::names::env;
use timmybot_config::{InteractionsSettings, Source, WorkerSettings};
use timmybot_domain::{AllowEntry, Clock, GuildId, SystemClock, UserId};
use timmybot_store::dynamo::DynamoStore;
use timmybot_store::SharedStore;
use tower::ServiceExt;
use voice_worker::adapters::presence::VoiceStates;
use voice_worker::startup::{run_with, Wiring};

use crate::aws;
use timmybot_fake_discord::audio::{dominant_frequency, wav_tone};
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions::{self as di, slash, with_integer};
use timmybot_fake_discord::voice::{DaveMode, Heard};
use timmybot_fake_discord::FakeDiscord;

pub const USER: u64 = 1_500_000_000_000_000_001;
const OWNER: u64 = 1_500_000_000_000_000_002;
pub const WAIT: Duration = Duration::from_secs(30);

/// Guild `n`: its id, text channel and voice channel.
pub fn guild(n: u64) -> FakeGuild {
    FakeGuild {
        id: 1_600_000_000_000_000_000 + n,
        name: format!("Guild {n}"),
        text_channel: 1_610_000_000_000_000_000 + n,
        voice_channels: vec![1_620_000_000_000_000_000 + n],
    }
}

/// The member who uses the commands in guild `g`: one per guild, so each has its own rate
/// limit.
pub fn member(g: &FakeGuild) -> u64 {
    USER + g.id % 1_000
}

/// The whole chain, running: fake Discord, the interactions router, and the worker.
pub struct Chain {
    pub discord: FakeDiscord,
    /// Where the worker serves `/health`, `/stats` and `/metrics`.
    pub health: std::net::SocketAddr,
    /// The music folder `local:` plays from.
    pub music: std::path::PathBuf,
    /// What the voice server does about DAVE.
    pub dave: DaveMode,
    guilds: Vec<u64>,
    router: Router,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    worker: tokio::task::JoinHandle<anyhow::Result<()>>,
    next_id: u64,
    _music: tempfile::TempDir,
}

/// Tones the tests play, by name: `local:tone-440.wav` and so on.
pub const TONES: [f32; 3] = [440.0, 660.0, 880.0];

/// The chain, with the voice server running DAVE v1 as Discord does.
pub async fn spawn_chain(guilds: &[FakeGuild], idle_leave: &str) -> Chain {
    spawn_chain_with(guilds, idle_leave, DaveMode::default()).await
}

/// The chain, with the voice server's DAVE as `dave` says.
pub async fn spawn_chain_with(guilds: &[FakeGuild], idle_leave: &str, dave: DaveMode) -> Chain {
    let music = tempfile::tempdir().expect("a scratch folder");
    for f in TONES {
        std::fs::write(
            music.path().join(format!("tone-{f}.wav")),
            wav_tone(f, 20.0, 0.4),
        )
        .expect("write a tone");
    }
    let discord = FakeDiscord::start_with(guilds.to_vec(), dave).await;
    let config = aws::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("e2e");
    aws::create_table(&dynamo, &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url =
        aws::create_fifo_queue(&sqs, &aws::unique("e2e"), Duration::from_secs(30)).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: SharedStore = Arc::new(DynamoStore::new(dynamo, table.clone(), clock.clone()));
    for g in guilds {
        store
            .allow(&AllowEntry::new(
                GuildId::new(g.id).expect("a valid guild id"),
                UserId::new(OWNER).expect("a valid user id"),
                clock.now_ms(),
                "e2e",
            ))
            .await
            .expect("allowlist the guild");
    }

    // The interactions side, wired as the Lambda wires it, with the REST proxy on the fake.
    let mut vars: std::collections::HashMap<String, String> = discord.env().into_iter().collect();
    for (k, v) in [
        (env::STORE, "dynamodb".to_owned()),
        (env::TABLE_NAME, table.clone()),
        (env::INTENT_QUEUE_URL, queue_url.clone()),
        (env::DISCORD_PUBLIC_KEY, di::public_key_hex()),
        (env::BOT_OWNER_IDS, OWNER.to_string()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let settings = InteractionsSettings::read(&Source::from_pairs(vars.clone()))
        .expect("the interactions settings");
    let router = assemble(
        settings,
        Backends {
            store: store.clone(),
            bus: Arc::new(SqsBus::new(sqs.clone(), queue_url.clone())),
            worker: None,
        },
        clock.clone(),
    )
    .expect("the router");

    // The worker, as its binary wires it, on the same table and queue. Its health port is
    // picked here (a free one, released at once) so that tests can scrape it.
    let health = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    for (k, v) in [
        (env::MUSIC_DIR, music.path().display().to_string()),
        (env::WORKER_HEALTH_ADDR, health.to_string()),
        (env::IDLE_LEAVE, idle_leave.into()),
        (env::SHARD_COUNT, "1".into()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let settings = WorkerSettings::read(&Source::from_pairs(vars)).expect("the worker settings");
    let store_for_wait = store.clone();
    let wiring = Wiring {
        store,
        bus: Arc::new(SqsBus::new(sqs, queue_url)),
        service: None,
        states: Arc::new(VoiceStates::default()),
        events: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_with(settings, wiring, async {
        let _ = stopped.await;
    }));
    discord.gateway.wait_ready(WAIT).await;
    wait_awake(clock.as_ref(), store_for_wait.as_ref()).await;
    Chain {
        discord,
        health,
        music: music.path().to_owned(),
        dave,
        guilds: guilds.iter().map(|g| g.id).collect(),
        router,
        stop: Some(stop),
        worker,
        next_id: 1_700_000_000_000_000_000,
        _music: music,
    }
}

/// Waits until the worker's heartbeat is fresh, as the endpoint judges it: from then on a
/// command is deferred, not answered with "starting the player".
async fn wait_awake(clock: &dyn Clock, store: &dyn timmybot_store::HeartbeatStore) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let beat = store.last_beat().await.expect("reading the heartbeat");
        if beat.is_some_and(|hb| hb.is_fresh(clock.now_ms(), timmybot_commands::AWAKE_WITHIN_MS)) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker wrote no heartbeat within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Chain {
    /// The worker's Prometheus text.
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.health);
        reqwest::get(&url)
            .await
            .expect("the worker serves /metrics")
            .text()
            .await
            .expect("a text body")
    }

    /// Sends a signed slash command, as Discord would; returns the response and the token.
    pub async fn command(
        &mut self,
        g: &FakeGuild,
        name: &str,
        args: &[(&str, &str)],
        integer: Option<(&str, i64)>,
    ) -> (Value, String) {
        self.next_id += 1;
        let mut i = slash(self.next_id, g.id, member(g), g.text_channel, name, args);
        if let Some((k, v)) = integer {
            i = with_integer(i, k, v);
        }
        let token = i.token.clone();
        let now = SystemClock.now_ms() / 1000;
        let res = self
            .router
            .clone()
            .oneshot(di::signed(&i, now))
            .await
            .expect("the router answers");
        assert_eq!(res.status(), 200);
        let body = res
            .into_body()
            .collect()
            .await
            .expect("the response body")
            .to_bytes();
        let response: Value = serde_json::from_slice(&body).expect("a JSON response");
        // What Discord does with a webhook's answer: the reply now exists to be edited.
        assert!(self.discord.rest.fake.acknowledge(&token, &response));
        (response, token)
    }

    pub async fn play(&mut self, g: &FakeGuild, freq: f32) -> (Value, String) {
        let query = format!("local:tone-{freq}.wav");
        self.command(g, "play", &[("query", &query)], None).await
    }

    pub fn join(&self, g: &FakeGuild) {
        self.discord
            .set_voice(g.id, member(g), Some(g.voice_channels[0]));
    }

    /// Waits until the voice channel hears `freq`: with DAVE, through a member's decryption
    /// (a plain frame is never heard). Fails on any plaintext frame after the group was ready.
    pub async fn hears(&self, g: &FakeGuild, freq: f32, what: &str) -> Heard {
        let dave = self.dave != DaveMode::Off;
        let heard = self
            .discord
            .voice
            .wait_for(g.id, WAIT, what, |h| {
                h.audio_frames() >= 10
                    && (!dave || h.e2ee_frames() >= 10)
                    && (dominant_frequency(&h.last_ms(200)) - freq).abs() <= 10.0
            })
            .await;
        assert_no_plaintext_after_ready(&heard);
        heard
    }

    /// Stops the worker as SIGTERM would, and waits for its drain. Every guild's call must
    /// have stayed end-to-end encrypted once its group was ready.
    pub async fn stop_worker(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.worker)
            .await
            .expect("the worker drains within 30 s")
            .expect("the worker task")
            .expect("the worker runs cleanly");
        for guild in &self.guilds {
            assert_no_plaintext_after_ready(&self.discord.voice.heard(*guild));
        }
    }
}

/// A non-silent frame without DAVE after the call's group was ready is audio that Discord's
/// clients drop: the DAVE path is broken.
pub fn assert_no_plaintext_after_ready(heard: &Heard) {
    assert_eq!(
        heard.plaintext_after_ready, 0,
        "frames without DAVE after the group was ready: {heard:?}"
    );
}
