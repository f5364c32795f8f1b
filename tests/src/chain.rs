//! The whole chain on loopback, for end-to-end tests and latency benches: the fake Discord,
//! the interactions router (as the Lambda wires it, on moto's DynamoDB and SQS, and ECS when
//! workers sleep) and one or more voice workers (as their binary wires them, each on its own
//! queue and shard range, all on the same table).
//!
//! The voice server runs DAVE v1 unless a test asks otherwise, and [`Chain::hears`] and
//! [`Chain::stop_worker`] fail the test if any frame after a call's DAVE group was ready came
//! without end-to-end encryption.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use http_body_util::BodyExt;
use interactions_lambda::startup::{assemble, Backends};
use serde_json::Value;
use timmybot_bus::sqs::SqsBus;
use timmybot_bus::{BusError, Delivery, IntentBus, Receipt};
use timmybot_config::names::env;
use timmybot_config::{InteractionsSettings, Source, WorkerSettings};
use timmybot_domain::{
    AllowEntry, Clock, GuildId, PlaybackIntent, ShardPlan, SystemClock, UserId, WorkerIndex,
};
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

/// Guild `n`: its id, text channel and voice channel. Every such guild is on shard 0 of any
/// small count; [`guild_on_shard`] places one.
pub fn guild(n: u64) -> FakeGuild {
    FakeGuild {
        id: 1_600_000_000_000_000_000 + n,
        name: format!("Guild {n}"),
        text_channel: 1_610_000_000_000_000_000 + n,
        voice_channels: vec![1_620_000_000_000_000_000 + n],
    }
}

/// Guild `n`, on shard `shard` of `count`: Discord shards on `(id >> 22) % count`, the
/// snowflake's milliseconds.
pub fn guild_on_shard(n: u64, shard: u32, count: u32) -> FakeGuild {
    let ms = u64::from(count) * (95_000_000_000 + n) + u64::from(shard);
    FakeGuild {
        id: (ms << 22) | (n & 0x3f_ffff),
        ..guild(n)
    }
}

/// The member who uses the commands in guild `g`: one per guild, so each has its own rate
/// limit.
pub fn member(g: &FakeGuild) -> u64 {
    USER + g.id % 1_000
}

/// How many workers split how many shards, and how the chain starts.
#[derive(Debug, Clone)]
pub struct Layout {
    pub workers: u32,
    pub shards: u32,
    /// What `GET /gateway/bot` says: identify buckets that may run side by side.
    pub max_concurrency: u16,
    pub idle_leave: String,
    /// Give each worker an ECS service in moto (desired count 0), which the router wakes.
    pub services: bool,
    /// Workers not started with the chain (asleep, as ECS would have them).
    pub asleep: Vec<u32>,
    /// What the voice server does about DAVE.
    pub dave: DaveMode,
    /// More settings for the endpoint and every worker: the stand-ins' base URLs and the
    /// OAuth clients, for the linked-account tests.
    pub env: Vec<(String, String)>,
}

/// The chain's vault key (`token_vault_key`), as the template's secret would hold one.
pub const VAULT_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

impl Layout {
    /// Today's deployment: one worker, one shard.
    pub fn single(idle_leave: &str) -> Self {
        Self {
            workers: 1,
            shards: 1,
            max_concurrency: 1,
            idle_leave: idle_leave.to_owned(),
            services: false,
            asleep: Vec::new(),
            dave: DaveMode::default(),
            env: Vec::new(),
        }
    }

    /// With `env` added to every part's settings.
    pub fn with_env(mut self, env: impl IntoIterator<Item = (String, String)>) -> Self {
        self.env.extend(env);
        self
    }

    /// `workers` workers over `shards` shards, all started, every bucket free to identify
    /// at once.
    pub fn sharded(workers: u32, shards: u32) -> Self {
        Self {
            workers,
            shards,
            max_concurrency: u16::try_from(shards).unwrap_or(u16::MAX),
            idle_leave: "2m".into(),
            services: false,
            asleep: Vec::new(),
            dave: DaveMode::default(),
            env: Vec::new(),
        }
    }
}

/// An intent bus that notes the guild of every intent it hands to its worker.
struct Recording {
    inner: SqsBus,
    taken: Arc<Mutex<Vec<GuildId>>>,
}

#[async_trait]
impl IntentBus for Recording {
    async fn publish(&self, intent: &PlaybackIntent) -> Result<(), BusError> {
        self.inner.publish(intent).await
    }
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let got = self.inner.receive(max, wait).await?;
        let mut taken = self.taken.lock().expect("recording lock");
        taken.extend(
            got.iter()
                .filter_map(|d| d.intent.as_ref().ok().map(|i| i.guild_id)),
        );
        Ok(got)
    }
    async fn ack(&self, receipt: &Receipt) -> Result<(), BusError> {
        self.inner.ack(receipt).await
    }
    async fn extend(&self, receipt: &Receipt, visibility: Duration) -> Result<(), BusError> {
        self.inner.extend(receipt, visibility).await
    }
}

/// One worker of the chain: how to start it again, and what it took from its queue.
pub struct WorkerSlot {
    pub index: WorkerIndex,
    pub queue_url: String,
    pub service: Option<String>,
    /// The guild of every intent this worker received, over all its runs.
    pub taken: Arc<Mutex<Vec<GuildId>>>,
    /// Where this worker serves `/health`, `/stats` and `/metrics`.
    pub health: std::net::SocketAddr,
    vars: HashMap<String, String>,
    running: Option<Running>,
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// The whole chain, running: fake Discord, the interactions router, and the workers.
pub struct Chain {
    pub discord: FakeDiscord,
    /// The music folder `local:` plays from.
    pub music: std::path::PathBuf,
    /// What the voice server does about DAVE.
    pub dave: DaveMode,
    guilds: Vec<u64>,
    pub plan: ShardPlan,
    pub store: SharedStore,
    pub workers: Vec<WorkerSlot>,
    /// moto's ECS, the cluster, when the layout has services.
    pub ecs: Option<(aws_sdk_ecs::Client, String)>,
    router: Router,
    sqs: aws_sdk_sqs::Client,
    clock: Arc<dyn Clock>,
    next_id: u64,
    _music: tempfile::TempDir,
}

/// Tones the tests play, by name: `local:tone-440.wav` and so on.
pub const TONES: [f32; 3] = [440.0, 660.0, 880.0];

/// The chain, with the voice server running DAVE v1 as Discord does.
pub async fn spawn_chain(guilds: &[FakeGuild], idle_leave: &str) -> Chain {
    spawn_sharded(guilds, Layout::single(idle_leave)).await
}

/// The chain, with the voice server's DAVE as `dave` says.
pub async fn spawn_chain_with(guilds: &[FakeGuild], idle_leave: &str, dave: DaveMode) -> Chain {
    let layout = Layout {
        dave,
        ..Layout::single(idle_leave)
    };
    spawn_sharded(guilds, layout).await
}

/// The chain in `layout`: its workers, shards, services and DAVE.
pub async fn spawn_sharded(guilds: &[FakeGuild], layout: Layout) -> Chain {
    let music = tempfile::tempdir().expect("a scratch folder");
    for f in TONES {
        std::fs::write(
            music.path().join(format!("tone-{f}.wav")),
            wav_tone(f, 20.0, 0.4),
        )
        .expect("write a tone");
    }
    let discord = FakeDiscord::start_with(guilds.to_vec(), layout.dave).await;
    discord
        .rest
        .fake
        .set_gateway_bot(layout.shards, layout.max_concurrency);
    let config = aws::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let table = aws::unique("e2e");
    aws::create_table(&dynamo, &table).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
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
    let mut queues = Vec::new();
    for _ in 0..layout.workers {
        queues
            .push(aws::create_fifo_queue(&sqs, &aws::unique("e2e"), Duration::from_secs(30)).await);
    }
    let ecs = if layout.services {
        let client = aws_sdk_ecs::Client::new(&config);
        let cluster = aws::unique("cluster");
        Some((client, cluster))
    } else {
        None
    };
    let mut services = Vec::new();
    if let Some((client, cluster)) = &ecs {
        for i in 0..layout.workers {
            let name = aws::unique(&format!("worker-{i}"));
            aws::create_worker_service(client, cluster, &name).await;
            services.push(name);
        }
    }

    // The interactions side, wired as the Lambda wires it, with the REST proxy on the fake.
    let mut vars: HashMap<String, String> = discord.env().into_iter().collect();
    for (k, v) in [
        (env::STORE, "dynamodb".to_owned()),
        (env::TABLE_NAME, table.clone()),
        (env::DISCORD_PUBLIC_KEY, di::public_key_hex()),
        (env::BOT_OWNER_IDS, OWNER.to_string()),
        (env::SHARD_COUNT, layout.shards.to_string()),
        (env::WORKER_COUNT, layout.workers.to_string()),
        (
            timmybot_config::names::secret::TOKEN_VAULT_KEY,
            VAULT_KEY.to_owned(),
        ),
    ] {
        vars.insert(k.to_owned(), v);
    }
    vars.extend(layout.env.iter().cloned());
    let mut lambda_vars = vars.clone();
    lambda_vars.insert(env::INTENT_QUEUE_URL.to_owned(), queues.join(","));
    if let Some((_, cluster)) = &ecs {
        lambda_vars.insert(env::WORKER_CLUSTER.to_owned(), cluster.clone());
        lambda_vars.insert(env::WORKER_SERVICE.to_owned(), services.join(","));
    }
    let settings = InteractionsSettings::read(&Source::from_pairs(lambda_vars))
        .expect("the interactions settings");
    let plan = settings.routing.plan;
    let routes =
        timmybot_bus::ecs::routes(&config, &settings.routing, None).expect("one route per worker");
    let router = assemble(
        settings,
        Backends {
            store: store.clone(),
            workers: routes,
        },
        clock.clone(),
    )
    .expect("the router");

    // Each worker, as its task definition runs it: its index, and only its own queue and
    // service, on the same table.
    for (k, v) in [
        (env::MUSIC_DIR, music.path().display().to_string()),
        (env::IDLE_LEAVE, layout.idle_leave.clone()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let workers = (0..layout.workers)
        .map(|i| {
            let mut own = vars.clone();
            own.insert(env::WORKER_INDEX.to_owned(), i.to_string());
            // A free port, released at once, so that tests can scrape this worker.
            let health = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port");
            own.insert(env::WORKER_HEALTH_ADDR.to_owned(), health.to_string());
            own.insert(env::INTENT_QUEUE_URL.to_owned(), queues[i as usize].clone());
            let service = services.get(i as usize).cloned();
            if let (Some((_, cluster)), Some(name)) = (&ecs, &service) {
                own.insert(env::WORKER_CLUSTER.to_owned(), cluster.clone());
                own.insert(env::WORKER_SERVICE.to_owned(), name.clone());
            }
            WorkerSlot {
                index: WorkerIndex::new(i),
                queue_url: queues[i as usize].clone(),
                service,
                taken: Arc::default(),
                health,
                vars: own,
                running: None,
            }
        })
        .collect();
    let mut chain = Chain {
        discord,
        music: music.path().to_owned(),
        dave: layout.dave,
        guilds: guilds.iter().map(|g| g.id).collect(),
        plan,
        store,
        workers,
        ecs,
        router,
        sqs,
        clock,
        next_id: 1_700_000_000_000_000_000,
        _music: music,
    };
    let awake: Vec<u32> = (0..layout.workers)
        .filter(|i| !layout.asleep.contains(i))
        .collect();
    for i in &awake {
        chain.launch(*i);
    }
    for i in awake {
        chain.wait_started(i).await;
    }
    chain
}

impl Chain {
    /// Worker 0's Prometheus text.
    pub async fn metrics(&self) -> String {
        self.metrics_of(0).await
    }

    /// Worker `i`'s Prometheus text.
    pub async fn metrics_of(&self, i: u32) -> String {
        let url = format!("http://{}/metrics", self.workers[i as usize].health);
        reqwest::get(&url)
            .await
            .expect("the worker serves /metrics")
            .text()
            .await
            .expect("a text body")
    }

    /// Starts worker `i` as ECS would start its task. Returns at once; see
    /// [`Chain::start_worker`] to wait until it is up.
    fn launch(&mut self, i: u32) {
        let slot = &mut self.workers[i as usize];
        assert!(slot.running.is_none(), "worker {i} is already running");
        let settings = WorkerSettings::read(&Source::from_pairs(slot.vars.clone()))
            .expect("the worker settings");
        let accounts = timmybot_accounts::Accounts::open(
            &settings.accounts,
            self.store.clone(),
            self.clock.clone(),
            None,
        )
        .expect("the worker's linked accounts");
        let wiring = Wiring {
            accounts,
            store: self.store.clone(),
            bus: Arc::new(Recording {
                inner: SqsBus::new(self.sqs.clone(), slot.queue_url.clone()),
                taken: slot.taken.clone(),
            }),
            // With services, the worker scales its own, as on ECS.
            service: match (&self.ecs, &slot.service) {
                (Some((client, cluster)), Some(name)) => {
                    Some(Arc::new(timmybot_bus::ecs::EcsService::new(
                        client.clone(),
                        cluster.clone(),
                        name.clone(),
                    ))
                        as Arc<dyn timmybot_bus::WorkerService>)
                }
                _ => None,
            },
            states: Arc::new(VoiceStates::default()),
            events: None,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_with(settings, wiring, async {
            let _ = stopped.await;
        }));
        slot.running = Some(Running { stop, task });
    }

    /// Waits until worker `i`'s shards are connected and its heartbeat is fresh, as the
    /// endpoint judges it: from then on its guilds' commands are deferred, not answered with
    /// "starting the player".
    async fn wait_started(&self, i: u32) {
        let span = self
            .plan
            .span_of(WorkerIndex::new(i))
            .unwrap_or(timmybot_domain::ShardSpan::WHOLE);
        let count = self.plan.shard_count();
        let deadline = tokio::time::Instant::now() + WAIT;
        for shard in span.shards() {
            self.discord
                .gateway
                .wait_for(WAIT, &format!("shard {shard} to identify"), |seen| {
                    seen.iter().any(|(_, s)| {
                        *s == timmybot_fake_discord::gateway::Seen::Identify {
                            shard: [shard, count],
                        }
                    })
                })
                .await;
        }
        loop {
            let beat = self
                .store
                .last_beat(WorkerIndex::new(i))
                .await
                .expect("reading the heartbeat");
            let now = self.clock.now_ms();
            if beat.is_some_and(|hb| hb.is_fresh(now, timmybot_commands::AWAKE_WITHIN_MS)) {
                return;
            }
            let ended = self.workers[i as usize]
                .running
                .as_ref()
                .is_some_and(|r| r.task.is_finished());
            assert!(
                !ended,
                "worker {i} stopped while starting: see its log above"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "worker {i} wrote no heartbeat within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts worker `i` (asleep, or stopped) and waits until it is up.
    pub async fn start_worker(&mut self, i: u32) {
        self.launch(i);
        self.wait_started(i).await;
    }

    /// Stops worker `i` as SIGTERM would, and waits for its drain.
    pub async fn stop_worker_at(&mut self, i: u32) {
        let Some(running) = self.workers[i as usize].running.take() else {
            return;
        };
        let _ = running.stop.send(());
        tokio::time::timeout(WAIT, running.task)
            .await
            .expect("the worker drains within 30 s")
            .expect("the worker task")
            .expect("the worker runs cleanly");
    }

    /// Stops every worker as SIGTERM would, and waits for their drains.
    /// Every guild's call must have stayed end-to-end encrypted once its group was ready.
    pub async fn stop_worker(&mut self) {
        for i in 0..self.workers.len() as u32 {
            self.stop_worker_at(i).await;
        }
        for guild in &self.guilds {
            assert_no_plaintext_after_ready(&self.discord.voice.heard(*guild));
        }
    }

    /// The workers whose gateway connections sent op 4 for `g`, in order.
    pub fn joined_by(&self, g: &FakeGuild) -> Vec<WorkerIndex> {
        self.discord
            .gateway
            .voice_updates_by_shard(g.id)
            .into_iter()
            .filter_map(|(_, _, [shard, _])| self.plan.worker_of_shard(shard))
            .collect()
    }

    /// The worker that owns `g` by the shard plan.
    pub fn owner(&self, g: &FakeGuild) -> WorkerIndex {
        self.plan
            .worker_of(GuildId::new(g.id).expect("a valid guild id"))
    }

    /// The desired count of worker `i`'s service in moto's ECS.
    pub async fn desired(&self, i: u32) -> i32 {
        let (client, cluster) = self.ecs.as_ref().expect("a layout with services");
        let service = self.workers[i as usize]
            .service
            .as_deref()
            .expect("the worker's service");
        aws::desired_count(client, cluster, service).await
    }

    /// Sends any interaction, signed, as Discord would; returns the response and the token.
    pub async fn send(
        &mut self,
        i: twilight_model::application::interaction::Interaction,
    ) -> (Value, String) {
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
        assert!(self.discord.rest.fake.acknowledge(&token, &response));
        (response, token)
    }

    /// Sends the interaction `make` builds from a fresh id; a "Slow down" answer (6
    /// interactions in 10 s is the limit a person meets too) is sent again, with a new id,
    /// once the limiter says it may be.
    pub async fn send_with(
        &mut self,
        make: impl Fn(u64) -> twilight_model::application::interaction::Interaction,
    ) -> (Value, String) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let id = self.next_id();
            let (res, token) = self.send(make(id)).await;
            let content = res["data"]["content"].as_str().unwrap_or_default();
            let Some(wait) = content
                .strip_prefix("Slow down")
                .and_then(|rest| rest.split("Try again in ").nth(1))
                .and_then(|rest| rest.split(' ').next())
                .and_then(|s| s.parse::<u64>().ok())
            else {
                return (res, token);
            };
            assert!(
                std::time::Instant::now() < deadline,
                "rate limited past {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// Presses a button on a message in `g`'s text channel, as its member.
    pub async fn press(&mut self, g: &FakeGuild, custom_id: &str) -> (Value, String) {
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send_with(|id| di::in_channel(di::button(id, Some(guild), user, custom_id), channel))
            .await
    }

    /// Waits until the reply to `token` satisfies `pred` (the worker edits deferred replies).
    pub async fn reply(
        &self,
        token: &str,
        pred: impl Fn(&timmybot_fake_discord::rest::Shown) -> bool,
    ) -> timmybot_fake_discord::rest::Shown {
        self.discord.rest.fake.wait_reply(token, WAIT, pred).await
    }

    /// `g`'s stored state, as the worker last wrote it.
    pub async fn state(&self, g: &FakeGuild) -> timmybot_domain::GuildState {
        let guild = GuildId::new(g.id).expect("a valid guild id");
        self.store
            .load_guild(guild)
            .await
            .expect("the guild's state")
            .value
    }

    /// A fresh interaction id.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The HTTP router itself (the Spotify callback is served by it too).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Sends a signed slash command, as Discord would; returns the response and the token.
    pub async fn command(
        &mut self,
        g: &FakeGuild,
        name: &str,
        args: &[(&str, &str)],
        integer: Option<(&str, i64)>,
    ) -> (Value, String) {
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send_with(|id| {
            let i = slash(id, guild, user, channel, name, args);
            match integer {
                Some((k, v)) => with_integer(i, k, v),
                None => i,
            }
        })
        .await
    }

    /// `/settings NAME:on|off`, by `g`'s member with Manage Server; the reply.
    pub async fn setting(&mut self, g: &FakeGuild, name: &str, on: bool) -> Value {
        use twilight_model::application::interaction::application_command::{
            CommandDataOption, CommandOptionValue,
        };
        use twilight_model::application::interaction::InteractionData;
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send_with(|id| {
            let mut i = slash(id, guild, user, channel, "settings", &[]);
            if let Some(InteractionData::ApplicationCommand(d)) = i.data.as_mut() {
                d.options.push(CommandDataOption {
                    name: name.to_owned(),
                    value: CommandOptionValue::Boolean(on),
                });
            }
            di::as_member(i, &[], twilight_model::guild::Permissions::MANAGE_GUILD)
        })
        .await
        .0
    }

    /// Sends `/name sub` with string options, as `g`'s member in its text channel.
    pub async fn subcommand(
        &mut self,
        g: &FakeGuild,
        name: &str,
        sub: &str,
        args: &[(&str, &str)],
    ) -> (Value, String) {
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send_with(|id| {
            di::in_channel(
                di::command(id, Some(guild), user, name, di::subcommand(sub, args)),
                channel,
            )
        })
        .await
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
}

/// A non-silent frame without DAVE after the call's group was ready is audio that Discord's
/// clients drop: the DAVE path is broken.
pub fn assert_no_plaintext_after_ready(heard: &Heard) {
    assert_eq!(
        heard.plaintext_after_ready, 0,
        "frames without DAVE after the group was ready: {heard:?}"
    );
}
