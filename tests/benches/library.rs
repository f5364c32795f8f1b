//! Linked-account figures, printed as tables:
//! - `/my-playlists` handler time when the platform answers in 200 ms (each call misses the
//!   one-minute list cache), p50 and p99, beside a cached call;
//! - picking a 200-track YouTube playlist → its first audio at the fake voice server,
//!   through the whole chain (moto, the worker, the fake Discord with DAVE), each run a
//!   fresh guild, so each includes joining voice.
//!
//! - autoplay: the silence between the last queued track's last frame and autoplay's first
//!   at the voice server, with MusicBrainz and ListenBrainz answering, down (503), and
//!   hanging (autoplay's 2 s bound, then history);
//! - `/search`: sent → the reply edited with the menu, with the yt-dlp stand-in.
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
use timmybot_tests::library::{seed_older_history, spawn_library};
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

/// How the open services behave for a run of autoplay.
#[derive(Clone, Copy, PartialEq)]
enum Services {
    Answering,
    Down,
    Hanging,
}

const AUTOPLAY_RUNS: u64 = 5;

/// The longest silence between two audio frames at the voice server after `from`: the
/// handover from the last queued track to autoplay's.
fn longest_gap(heard: &timmybot_fake_discord::voice::Heard, from: Instant) -> Duration {
    let at: Vec<Instant> = heard
        .frames
        .iter()
        .filter(|f| !f.silent && f.at >= from)
        .map(|f| f.at)
        .collect();
    at.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
}

async fn autoplay_table() {
    let modes = [Services::Down, Services::Hanging, Services::Answering];
    let guilds: Vec<_> = (1..=AUTOPLAY_RUNS * modes.len() as u64)
        .map(|n| guild(400 + n))
        .collect();
    let mut lib = spawn_library(&guilds).await;
    lib.s.musicbrainz.add_artist("Tones");
    lib.s
        .listenbrainz
        .set_radio("Tones", vec![("Other Song", "Someone Else", Some(200_000))]);
    let mut rows: Vec<(Services, Vec<Duration>)> = Vec::new();
    let mut next = guilds.iter();
    // Down and hanging first: an answer, once cached, would be used without asking.
    for mode in modes {
        lib.s.listenbrainz.down(mode == Services::Down);
        lib.s.musicbrainz.down(mode == Services::Down);
        lib.s.listenbrainz.hang(mode == Services::Hanging);
        let mut gaps = Vec::new();
        for _ in 0..AUTOPLAY_RUNS {
            let g = next.next().expect("a guild per run");
            seed_older_history(&lib.chain, g).await;
            lib.chain.setting(g, "autoplay", true).await;
            lib.chain.join(g);
            lib.command(
                g,
                "play",
                &[("query", "https://www.youtube.com/watch?v=t440")],
            )
            .await;
            lib.chain.hears(g, 440.0, "the queued track").await;
            let seeked = Instant::now();
            lib.command(g, "seek", &[("position", "0:19")]).await;
            let next_freq = if mode == Services::Answering {
                660.0
            } else {
                880.0
            };
            let heard = lib.chain.hears(g, next_freq, "autoplay's track").await;
            gaps.push(longest_gap(&heard, seeked));
            eprint!(".");
            lib.command(g, "leave", &[]).await;
        }
        rows.push((mode, gaps));
    }
    lib.s.listenbrainz.hang(false);
    eprintln!();
    lib.chain.stop_worker().await;
    println!("\nAutoplay: the last queued track's last frame → autoplay's first frame at the voice server, {AUTOPLAY_RUNS} runs each, a fresh guild each (ms)\n");
    println!("| measure                                              |      p50 |      p99 |      max |    n |");
    println!("|------------------------------------------------------|----------|----------|----------|------|");
    for (mode, gaps) in rows {
        let name = match mode {
            Services::Answering => "MusicBrainz and ListenBrainz answering",
            Services::Down => "both down (503): the guild's history",
            Services::Hanging => "ListenBrainz hanging: 2 s bound, then history",
        };
        row(name, gaps);
    }
}

const SEARCHES: usize = 20;

async fn search_table() {
    let g = guild(450);
    let mut lib = spawn_library(std::slice::from_ref(&g)).await;
    let mut took = Vec::new();
    for n in 0..SEARCHES {
        // One every 1.7 s, inside the 6-per-10 s limit a person meets: a "Slow down" retry
        // would be timed too.
        tokio::time::sleep(Duration::from_millis(1_700)).await;
        let query = format!("tones {n}");
        let sent = Instant::now();
        let (res, token) = lib.command(&g, "search", &[("query", &query)]).await;
        assert_eq!(res["type"], 5, "{res}");
        let shown = lib.chain.reply(&token, |r| !r.components.is_empty()).await;
        took.push(shown.updated_at.expect("edited") - sent);
    }
    lib.chain.stop_worker().await;
    println!("\n/search with the yt-dlp stand-in (a shell script printing five results), {SEARCHES} searches (ms)\n");
    println!("| measure                                              |      p50 |      p99 |      max |    n |");
    println!("|------------------------------------------------------|----------|----------|----------|------|");
    row("sent → the reply edited with the menu", took);
}

/// Every table, or those whose names are given: `-- handler pick autoplay search`.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // RUST_LOG=voice_worker=debug shows what the worker did between the measurements.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name);
    if run("handler") {
        handler_table().await;
    }
    if run("pick") {
        pick_table().await;
    }
    if run("autoplay") {
        autoplay_table().await;
    }
    if run("search") {
        search_table().await;
    }
}
