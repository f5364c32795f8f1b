//! End to end, offline: a signed `/play` reaches the interactions router (DynamoDB and SQS on
//! moto), becomes an intent, the voice worker takes it, joins through the fake gateway,
//! connects to the fake voice server over TLS, and the voice server hears the tone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use http_body_util::BodyExt;
use interactions_lambda::adapters::discord::RestVoiceLookup;
use interactions_lambda::core::{Core, Ports};
use interactions_lambda::routes::{router, App};
use interactions_lambda::verify::Verifier;
use serde_json::Value;
use timmybot_shared::bus::sqs::SqsBus;
use timmybot_shared::clock::{Clock, SystemClock};
use timmybot_shared::domain::{AllowEntry, BotOwners, GuildId, UserId};
use timmybot_shared::names::env;
use timmybot_shared::store::dynamo::DynamoStore;
use timmybot_shared::store::SharedStore;
use timmybot_tests::audio::{dominant_frequency, rms, wav_tone};
use timmybot_tests::aws;
use timmybot_tests::discord::gateway::FakeGuild;
use timmybot_tests::discord::voice::Heard;
use timmybot_tests::discord::FakeDiscord;
use timmybot_tests::interactions::{self as di, slash, with_integer};
use tower::ServiceExt;
use voice_worker::adapters::discord::VoiceStates;
use voice_worker::configuration::Settings;
use voice_worker::startup::{run_with, Wiring};

const USER: u64 = 1_500_000_000_000_000_001;
const OWNER: u64 = 1_500_000_000_000_000_002;
const WAIT: Duration = Duration::from_secs(30);

/// Guild `n`: its id, text channel and voice channel.
fn guild(n: u64) -> FakeGuild {
    FakeGuild {
        id: 1_600_000_000_000_000_000 + n,
        name: format!("Guild {n}"),
        text_channel: 1_610_000_000_000_000_000 + n,
        voice_channels: vec![1_620_000_000_000_000_000 + n],
    }
}

/// The whole chain, running: fake Discord, the interactions router, and the worker.
struct Chain {
    discord: FakeDiscord,
    router: Router,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    worker: tokio::task::JoinHandle<anyhow::Result<()>>,
    next_id: u64,
    _music: tempfile::TempDir,
}

/// Tones the tests play, by name: `local:tone-440.wav` and so on.
const TONES: [f32; 3] = [440.0, 660.0, 880.0];

async fn spawn_chain(guilds: &[FakeGuild], idle_leave: &str) -> Chain {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let music = tempfile::tempdir().unwrap();
    for f in TONES {
        std::fs::write(
            music.path().join(format!("tone-{f}.wav")),
            wav_tone(f, 20.0, 0.4),
        )
        .unwrap();
    }
    let discord = FakeDiscord::start(guilds.to_vec()).await;
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
                GuildId::new(g.id).unwrap(),
                UserId::new(OWNER).unwrap(),
                clock.now_ms(),
                "e2e",
            ))
            .await
            .unwrap();
    }

    // The interactions side, as the Lambda wires it, but with the REST proxy on the fake.
    let core = Core::new(
        Ports {
            store: store.clone(),
            bus: Arc::new(SqsBus::new(sqs.clone(), queue_url.clone())),
            clock: clock.clone(),
            voice: Arc::new(RestVoiceLookup::new(discord.rest.client())),
            waker: None,
        },
        BotOwners::parse(&OWNER.to_string()).unwrap(),
        FakeDiscord::BOT.to_string(),
    );
    let router = router(Arc::new(App {
        verifier: Verifier::from_hex(&di::public_key_hex()).unwrap(),
        core: Arc::new(core),
    }));

    // The worker, as its binary wires it, on the same table and queue.
    let mut vars: std::collections::HashMap<String, String> = discord.env().into_iter().collect();
    for (k, v) in [
        (env::STORE, "dynamodb".to_owned()),
        (env::TABLE_NAME, table),
        (env::INTENT_QUEUE_URL, queue_url.clone()),
        (env::MUSIC_DIR, music.path().display().to_string()),
        (env::WORKER_HEALTH_ADDR, "127.0.0.1:0".into()),
        (env::IDLE_LEAVE, idle_leave.into()),
        (env::SHARD_COUNT, "1".into()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let wiring = Wiring {
        store,
        bus: Arc::new(SqsBus::new(sqs, queue_url)),
        scaler: None,
        states: Arc::new(VoiceStates::default()),
        events: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_with(settings, wiring, async {
        let _ = stopped.await;
    }));
    discord.gateway.wait_ready(WAIT).await;
    Chain {
        discord,
        router,
        stop: Some(stop),
        worker,
        next_id: 1_700_000_000_000_000_000,
        _music: music,
    }
}

impl Chain {
    /// Sends a signed slash command, as Discord would; returns the response and the token.
    async fn command(
        &mut self,
        g: &FakeGuild,
        name: &str,
        args: &[(&str, &str)],
        integer: Option<(&str, i64)>,
    ) -> (Value, String) {
        self.next_id += 1;
        let mut i = slash(self.next_id, g.id, USER, g.text_channel, name, args);
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
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let response: Value = serde_json::from_slice(&body).unwrap();
        // What Discord does with a webhook's answer: the reply now exists to be edited.
        assert!(self.discord.rest.fake.acknowledge(&token, &response));
        (response, token)
    }

    async fn play(&mut self, g: &FakeGuild, freq: f32) -> (Value, String) {
        let query = format!("local:tone-{freq}.wav");
        self.command(g, "play", &[("query", &query)], None).await
    }

    fn join(&self, g: &FakeGuild) {
        self.discord
            .set_voice(g.id, USER, Some(g.voice_channels[0]));
    }

    async fn hears(&self, g: &FakeGuild, freq: f32, what: &str) -> Heard {
        self.discord
            .voice
            .wait_for(g.id, WAIT, what, |h| {
                h.audio_frames() >= 10 && (dominant_frequency(&h.last_ms(200)) - freq).abs() <= 10.0
            })
            .await
    }

    /// Stops the worker as SIGTERM would, and waits for its drain.
    async fn stop_worker(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.worker)
            .await
            .expect("the worker drains within 30 s")
            .unwrap()
            .unwrap();
    }

    async fn shutdown(mut self) {
        self.stop_worker().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_play_is_heard_at_the_voice_server() {
    let g = guild(1);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    chain.join(&g);
    let (res, token) = chain.play(&g, 440.0).await;
    assert_eq!(res["type"], 5, "deferred while the worker works: {res}");

    let heard = chain.hears(&g, 440.0, "the 440 Hz tone").await;
    let session = &heard.sessions[0];
    assert!(session.mode.is_some(), "a mode was selected");
    assert!(session.first_rtp_at.is_some());
    assert_eq!(
        chain.discord.gateway.bot_channel(g.id),
        Some(g.voice_channels[0]),
        "the bot joined the requester's channel"
    );
    let reply = chain
        .discord
        .rest
        .fake
        .wait_reply(&token, WAIT, |r| r.edits > 0)
        .await;
    assert!(
        reply.content.contains("Now playing") && reply.content.contains("440"),
        "the worker edits the deferred reply: {reply:?}"
    );
    // Draining (SIGTERM) leaves the call through the gateway, which outlives the drain.
    assert_eq!(chain.discord.gateway.voice_updates(g.id).len(), 1);
    chain.stop_worker().await;
    let updates = chain.discord.gateway.voice_updates(g.id);
    assert_eq!(
        updates.last().map(|(_, channel)| *channel),
        Some(None),
        "the drain leaves the voice channel: {updates:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guilds_each_hear_their_own_tone() {
    let (a, b) = (guild(2), guild(3));
    let mut chain = spawn_chain(&[a.clone(), b.clone()], "2m").await;
    chain.join(&a);
    chain.join(&b);
    chain.play(&a, 440.0).await;
    chain.play(&b, 660.0).await;
    chain.hears(&a, 440.0, "guild A's 440 Hz").await;
    chain.hears(&b, 660.0, "guild B's 660 Hz").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Every window of what each guild heard is its own tone: no audio crossed over.
    for (g, freq) in [(&a, 440.0), (&b, 660.0)] {
        let heard = chain.discord.voice.heard(g.id);
        let pcm: Vec<f32> = heard
            .frames
            .iter()
            .filter(|f| !f.silent)
            .flat_map(|f| f.pcm.iter().copied())
            .collect();
        for window in pcm.chunks(9_600).filter(|w| w.len() == 9_600) {
            let f = dominant_frequency(window);
            assert!((f - freq).abs() <= 10.0, "guild {} heard {f} Hz", g.name);
        }
    }
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_pause_resume_and_volume_change_what_is_heard() {
    let g = guild(4);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2m").await;
    chain.join(&g);
    chain.play(&g, 440.0).await;
    chain.play(&g, 660.0).await;
    chain.hears(&g, 440.0, "the first track").await;

    chain.command(&g, "skip", &[], None).await;
    chain.hears(&g, 660.0, "the next track after /skip").await;

    chain.command(&g, "pause", &[], None).await;
    let voice = chain.discord.voice.clone();
    // Paused: the packets stop, after at most songbird's five frames of silence.
    let quiet = voice
        .wait_for(g.id, WAIT, "the packets to stop", |h| {
            h.last_frame_at()
                .is_some_and(|t| t.elapsed() >= Duration::from_millis(500))
        })
        .await;
    let paused_at = Instant::now();
    let tail: Vec<_> = quiet.frames.iter().rev().take_while(|f| f.silent).collect();
    assert!(
        tail.len() <= 5,
        "{} silence frames after pausing",
        tail.len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        voice.heard(g.id).frames.len(),
        quiet.frames.len(),
        "nothing is sent while paused"
    );

    chain.command(&g, "resume", &[], None).await;
    voice
        .wait_for(g.id, WAIT, "audio after /resume", |h| {
            h.pcm_since(paused_at).len() >= 20 * 1_920
        })
        .await;
    let loud = rms(&voice.heard(g.id).last_ms(400));

    chain
        .command(&g, "volume", &[], Some(("percent", 50)))
        .await;
    let changed_at = Instant::now();
    let quieter = voice
        .wait_for(g.id, WAIT, "audio at 50% volume", |h| {
            let after = h.pcm_since(changed_at);
            after.len() >= 50 * 1_920 && rms(&after[after.len() - 20 * 1_920..]) < loud * 0.7
        })
        .await;
    let after = quieter.pcm_since(changed_at);
    let soft = rms(&after[after.len() - 20 * 1_920..]);
    let ratio = soft / loud;
    assert!(
        (0.4..0.6).contains(&ratio),
        "50% volume should halve the level: {loud:.3} → {soft:.3} ({ratio:.2})"
    );
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_leaves_an_empty_channel_after_idle_leave() {
    let g = guild(5);
    let mut chain = spawn_chain(std::slice::from_ref(&g), "2s").await;
    chain.join(&g);
    chain.play(&g, 440.0).await;
    chain.hears(&g, 440.0, "the tone").await;
    assert!(chain.discord.voice.connected(g.id));

    // Everyone leaves; the bot stays for IDLE_LEAVE, then goes.
    chain.discord.set_voice(g.id, USER, None);
    let left_at = Instant::now();
    chain
        .discord
        .gateway
        .wait_for(WAIT, "the bot to leave (op 4 with no channel)", |seen| {
            seen.iter().any(|(_, s)| {
                *s == timmybot_tests::discord::gateway::Seen::VoiceUpdate {
                    guild: g.id,
                    channel: None,
                }
            })
        })
        .await;
    let waited = left_at.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "left after {waited:?}, before IDLE_LEAVE"
    );
    assert_eq!(chain.discord.gateway.bot_channel(g.id), None);
    chain
        .discord
        .voice
        .wait_for(g.id, WAIT, "the voice connection to close", |h| {
            h.sessions.iter().all(|s| s.closed_at.is_some())
        })
        .await;
    chain.shutdown().await;
}
