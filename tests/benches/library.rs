//! Linked-account figures, printed as tables:
//! - `/my-playlists` handler time when the platform answers in 200 ms (each call misses the
//!   one-minute list cache), p50 and p99, beside a cached call;
//! - picking a 200-track YouTube playlist → its first audio at the fake voice server,
//!   through the whole chain (moto, the worker, the fake Discord with DAVE), each run a
//!   fresh guild, so each includes joining voice.
//!
//! `cargo bench -p timmybot-tests --bench library` (needs moto: `scripts/dev-setup`).
//! Seal and open per token: `cargo bench -p timmybot-accounts --bench vault`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use timmybot_bus::local::LocalBus;
use timmybot_commands::ports::{LookupError, VoiceLookup};
use timmybot_commands::{Core, Ports};
use timmybot_config::{AccountsSettings, Source};
use timmybot_domain::{AllowEntry, BotOwners, ChannelId, GuildId, ManualClock, UserId};
use timmybot_fake_discord::interactions::command;
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::Store;
use timmybot_tests::chain::{guild, WAIT};
use timmybot_tests::latency::PlayTiming;
use timmybot_tests::library::spawn_library;
use timmybot_tests::standins::{DeviceAnswer, SpPlaylist, SpTrack, Standins, Video};
use twilight_model::application::interaction::application_command::{
    CommandDataOption, CommandOptionValue,
};

const GUILD: u64 = 700_001;
const USER: u64 = 900_002;
const CALLS: usize = 60;
const PICKS: u64 = 8;
const PLATFORM_DELAY: Duration = Duration::from_millis(200);

struct InVoice;

#[async_trait]
impl VoiceLookup for InVoice {
    async fn voice_channel(&self, _: GuildId, _: UserId) -> Result<Option<ChannelId>, LookupError> {
        Ok(ChannelId::new(555).ok())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {name:<52} | {:>8.1} | {:>8.1} | {:>8.1} | {:>4} |",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().expect("samples")),
        samples.len()
    );
}

async fn handler_table() {
    let s = Standins::start().await;
    s.youtube.set_playlists(
        (0..30)
            .map(|i| (format!("PLbench{i:04}"), format!("Playlist {i}")))
            .collect::<Vec<_>>()
            .iter()
            .map(|(id, t)| (id.as_str(), t.as_str(), Video::numbered("b", 3)))
            .collect(),
    );
    for i in 0..30 {
        s.spotify.add_playlist(SpPlaylist {
            id: format!("37i9dQZF1DXbench{i:05}"),
            name: format!("Playlist {i}"),
            owner: "standin-user".into(),
            collaborative: false,
            tracks: SpTrack::numbered("b", 3),
        });
    }
    let dir = tempfile::tempdir().expect("a folder");
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("b.db"), clock.clone())
            .await
            .expect("SQLite"),
    );
    let (g, user) = (GuildId::new(GUILD).unwrap(), UserId::new(USER).unwrap());
    store
        .allow(&AllowEntry::new(g, user, 0, "bench"))
        .await
        .expect("allow");
    let mut env: Vec<(&str, String)> = s.env().into_iter().chain(s.credentials()).collect();
    env.push(("token_vault_key", "77".repeat(32)));
    let accounts = timmybot_accounts::Accounts::open(
        &AccountsSettings::read(&Source::from_pairs(env)).expect("settings"),
        store.clone(),
        clock.clone(),
        None,
    )
    .expect("accounts")
    .expect("a vault key");
    // Link both accounts once, through the real flows.
    s.google.script(vec![DeviceAnswer::Approve]);
    accounts.linker().youtube_start(user).await.expect("start");
    accounts.linker().youtube_check(user).await.expect("linked");
    let (url, _) = accounts.linker().spotify_start(user).await.expect("start");
    let to = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url.as_str())
        .send()
        .await
        .expect("authorize");
    let to = url::Url::parse(to.headers()["location"].to_str().unwrap()).unwrap();
    let q = |k: &str| {
        to.query_pairs()
            .find(|(n, _)| n == k)
            .unwrap()
            .1
            .into_owned()
    };
    accounts
        .linker()
        .spotify_finish(None, &SecretString::from(q("code")), &q("state"))
        .await
        .expect("Spotify linked");

    let ports = Ports {
        store,
        workers: timmybot_bus::WorkerRoutes::single(Arc::new(LocalBus::new(WAIT)), None),
        clock: clock.clone(),
        voice: Arc::new(InVoice),
        messenger: Arc::new(timmybot_tests::fakes::Mailbox::default()),
    };
    let core = Core::new(
        ports,
        BotOwners::default(),
        timmybot_domain::ApplicationId::new(1).expect("an id"),
    )
    .with_rate_limit(usize::MAX)
    .with_accounts(accounts);
    s.youtube.set_delay(PLATFORM_DELAY);
    s.spotify.set_delay(PLATFORM_DELAY);

    let platform = |p: &str| {
        vec![CommandDataOption {
            name: "platform".into(),
            value: CommandOptionValue::String(p.into()),
        }]
    };
    let mut id = 10u64;
    let mut time = |opts: Vec<CommandDataOption>, miss: bool| {
        id += 1;
        if miss {
            // Past the one-minute list cache: every call asks the platform.
            clock.advance(61_000);
        }
        let i = command(id, Some(GUILD), USER, "my-playlists", opts);
        let core = &core;
        async move {
            let started = Instant::now();
            let res = core.handle(&i).await;
            let took = started.elapsed();
            let json = serde_json::to_value(&res).expect("json");
            assert!(
                json["data"]["components"][0]["components"][0]["custom_id"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("lib:pick:")),
                "{json}"
            );
            took
        }
    };
    let mut youtube = Vec::new();
    let mut spotify = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..CALLS {
        youtube.push(time(platform("youtube"), true).await);
        // Right after: the same page, from the cache.
        cached.push(time(platform("youtube"), false).await);
        spotify.push(time(platform("spotify"), true).await);
    }
    println!(
        "\n/my-playlists handler time, the platform answering in {} ms (ms)\n",
        PLATFORM_DELAY.as_millis()
    );
    println!("| case                                                 |      p50 |      p99 |      max |    n |");
    println!("|------------------------------------------------------|----------|----------|----------|------|");
    row("YouTube, cache missed (playlists.list)", youtube);
    row(
        "Spotify, cache missed (/me and /me/playlists at once)",
        spotify,
    );
    row("YouTube, within the minute (cached)", cached);
}

async fn pick_table() {
    let guilds: Vec<_> = (1..=PICKS).map(|n| guild(300 + n)).collect();
    let mut lib = spawn_library(&guilds).await;
    let mut list = vec![Video::new("t440", "First tone", "Tones - Topic", 20)];
    list.extend(Video::numbered("pl", 199));
    lib.s
        .youtube
        .set_playlists(vec![("PLbig0000001", "Two hundred", list)]);
    let mut runs = Vec::new();
    for g in &guilds {
        lib.link_youtube(g).await;
        lib.chain.join(g);
        let sent = Instant::now();
        let (res, _) = lib.pick(g, "lib:pick:youtube", "PLbig0000001").await;
        assert_eq!(res["type"], 5, "{res}");
        runs.push(PlayTiming::measure(&lib.chain.discord, g.id, sent, WAIT).await);
        eprint!(".");
        lib.command(g, "leave", &[]).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!();
    lib.chain.stop_worker().await;
    let mut to_audio: Vec<_> = runs.iter().map(|r| r.to_audio).collect();
    let mut to_join: Vec<_> = runs.iter().map(|r| r.to_op4).collect();
    to_audio.sort();
    to_join.sort();
    println!("\nA 200-track YouTube playlist picked from /my-playlists, {PICKS} runs, each a fresh guild (ms)\n");
    println!("| measure                                              |      p50 |      p99 |      max |    n |");
    println!("|------------------------------------------------------|----------|----------|----------|------|");
    row("pick → op 4 (expanded, queued, joining)", to_join);
    row("pick → first audio heard at the voice server", to_audio);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    handler_table().await;
    pick_table().await;
}
