//! The dashboard's figures, printed as tables: a guild page's server time (p50, p99) with a
//! full 500-track queue, for the whole page and for the 5-second poll, on SQLite (`serve`)
//! and on DynamoDB in moto (the Lambda's shape); what each sends on the wire; and what one
//! hour of one open dashboard costs on AWS, from those times.
//!
//! cargo bench -p timmybot-tests --bench dashboard

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;

use timmybot_bus::local::LocalBus;
use timmybot_bus::WorkerRoutes;
use timmybot_commands::{Core, Ports};
use timmybot_config::{DashboardSettings, DiscordSettings, Source};
use timmybot_domain::queue::QUEUE_CAP;
use timmybot_domain::{
    AllowEntry, ApplicationId, BotOwners, GuildId, Platform, Position, RetryPolicy, Track,
    TrackKey, UserId,
};
use timmybot_edge::{router, App, Verifier};
use timmybot_fake_discord::interactions as di;
use timmybot_fake_discord::rest::FakeRest;
use timmybot_store::{update_guild, StoreError};
use timmybot_tests::backends::{dynamo_store, sqlite_store, StoreUnderTest, T0_MS};
use timmybot_tests::dashboard::{call, login};

const GUILD: u64 = 700_001;
const USER: u64 = 900_002;
const PUBLIC_URL: &str = "http://bot.test";
const RUNS: usize = 300;

/// AWS's prices in us-east-1 (2026): HTTP API requests; Lambda on arm64 (requests, GB-s);
/// DynamoDB on-demand read request units.
const HTTP_API_PER_MILLION: f64 = 1.00;
const LAMBDA_PER_MILLION: f64 = 0.20;
const LAMBDA_ARM_PER_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_MEMORY_GB: f64 = 0.25; // template.yaml: MemorySize 256
const DYNAMO_READ_PER_MILLION_RRU: f64 = 0.125;
/// The page polls every 5 s while its tab is visible (assets/app.js).
const POLLS_PER_HOUR: f64 = 3600.0 / 5.0;

struct Setup {
    router: Router,
    cookie: String,
    _rest: timmybot_fake_discord::rest::RunningRest,
    store: StoreUnderTest,
}

async fn setup(b: StoreUnderTest) -> Setup {
    let rest = FakeRest::start().await;
    rest.fake.set_bot_guilds(&[(GUILD, "Home".into())]);
    rest.fake.add_member(GUILD, "Home", USER, "alice", &[]);
    let g = GuildId::new(GUILD).unwrap();
    let user = UserId::new(USER).unwrap();
    b.store
        .allow(&AllowEntry::new(g, user, T0_MS, "bench"))
        .await
        .unwrap();
    fill_queue(&b).await;
    let discord = DiscordSettings::read(&Source::from_pairs(rest.env())).unwrap();
    let http = Arc::new(timmybot_discord::rest::client(
        &discord,
        timmybot_discord::rest::INTERACTION_TIMEOUT,
    ));
    let ports = Ports {
        store: b.store.clone(),
        workers: WorkerRoutes::single(Arc::new(LocalBus::new(Duration::from_secs(30))), None),
        clock: b.clock.clone(),
        voice: Arc::new(timmybot_commands::adapters::RestVoiceLookup::new(
            http.clone(),
        )),
        messenger: Arc::new(timmybot_tests::fakes::Mailbox::default()),
    };
    let app_id = ApplicationId::new(di::APPLICATION_ID).unwrap();
    let core = Arc::new(Core::new(ports, BotOwners::default(), app_id));
    let dashboard = timmybot_dashboard::Dashboard::new(
        core.clone(),
        &DashboardSettings {
            client_secret: timmybot_fake_discord::OAUTH_CLIENT_SECRET.into(),
            public_url: PUBLIC_URL.into(),
            web_url: rest.web_url(),
        },
        app_id,
        b"a bench key",
        http,
        b.clock.clone(),
    )
    .unwrap();
    let router = router(Arc::new(App {
        verifier: Verifier::from_hex(&di::public_key_hex()).unwrap(),
        core,
        telemetry: Arc::new(timmybot_edge::telemetry::Silent),
        dashboard: Some(Arc::new(dashboard)),
    }));
    let cookie = login(&router, &rest, PUBLIC_URL, USER).await;
    Setup {
        router,
        cookie,
        _rest: rest,
        store: b,
    }
}

fn request(path: &str, cookie: &str, gzip: bool, htmx: bool) -> Request<Body> {
    let mut req = Request::get(path).header(header::COOKIE, cookie);
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    if htmx {
        req = req.header("hx-request", "true");
    }
    req.body(Body::empty()).unwrap()
}

struct Measured {
    p50: Duration,
    p99: Duration,
    raw: usize,
    gzip: usize,
}

async fn measure(s: &Setup, path: &str, htmx: bool) -> Measured {
    // Warm: the first request fills the membership cache, as a page's first view does.
    let first = call(&s.router, request(path, &s.cookie, false, htmx)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let gz = call(&s.router, request(path, &s.cookie, true, htmx)).await;
    assert_eq!(
        gz.headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let a = call(&s.router, request(path, &s.cookie, true, htmx)).await;
        times.push(started.elapsed());
        assert_eq!(a.status, StatusCode::OK);
    }
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Measured {
        p50: at(0.5),
        p99: at(0.99),
        raw: first.wire_bytes,
        gzip: gz.wire_bytes,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let page = format!("/dashboard/guilds/{GUILD}");
    let poll = format!("/dashboard/guilds/{GUILD}/live?page=1");
    println!("Guild page with a 500-track queue ({RUNS} requests each, gzip on the wire):\n");
    println!("| backend | request | p50 ms | p99 ms | body bytes | gzip bytes |");
    println!("|---|---|---:|---:|---:|---:|");
    let (mut dynamo_poll, mut sqlite_poll) = (None, None);
    for (name, store) in [
        ("SQLite (serve)", sqlite_store().await),
        ("DynamoDB in moto (Lambda)", dynamo_store().await),
    ] {
        let s = setup(store).await;
        // The guild item's read alone: on moto, the emulator's own time dominates.
        let mut reads = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            s.store
                .store
                .load_guild(GuildId::new(GUILD).unwrap())
                .await
                .unwrap();
            reads.push(started.elapsed());
        }
        reads.sort();
        println!(
            "| {name} | the guild item's read alone | {:.2} | {:.2} | | |",
            ms(reads[10]),
            ms(reads[19])
        );
        for (what, path, htmx) in [("whole page", &page, false), ("5 s poll", &poll, true)] {
            let m = measure(&s, path, htmx).await;
            println!(
                "| {name} | {what} | {:.2} | {:.2} | {} | {} |",
                ms(m.p50),
                ms(m.p99),
                m.raw,
                m.gzip
            );
            if name.starts_with("DynamoDB") && htmx {
                dynamo_poll = Some(m);
            } else if htmx {
                sqlite_poll = Some(m);
            }
        }
    }

    // The assets a first visit fetches once (then cached a year, or an hour for ours).
    let s = setup(sqlite_store().await).await;
    println!("\nAssets, fetched once per browser:\n");
    println!("| file | bytes | gzip bytes |");
    println!("|---|---:|---:|");
    let mut assets_gzip = 0;
    for file in ["htmx-2.0.11.min.js", "app.js", "app.css"] {
        let path = format!("/dashboard/assets/{file}");
        let raw = call(&s.router, request(&path, &s.cookie, false, false)).await;
        let gz = call(&s.router, request(&path, &s.cookie, true, false)).await;
        assert_eq!(raw.status, StatusCode::OK);
        assets_gzip += gz.wire_bytes;
        println!("| {file} | {} | {} |", raw.wire_bytes, gz.wire_bytes);
    }

    // One hour of one open, visible dashboard: 720 polls, each reading the guild's item
    // (strongly consistent) and the allowlist entry. Lambda bills each poll's
    // duration rounded up to the ms. moto takes ~0.5 s to serve a 100 KB item, far slower
    // than DynamoDB, so its time is an upper bound. The estimate takes the work measured on
    // SQLite plus 30 ms: two DynamoDB reads at 10 ms each (DynamoDB answers in single-digit
    // ms), and 10 ms for Discord's membership check, which runs every 6th poll (30 s cache).
    let m = dynamo_poll.expect("the DynamoDB poll was measured");
    let local = sqlite_poll.expect("the SQLite poll was measured");
    let state_item = fill_queue(&sqlite_store().await).await;
    // The guild item (strongly consistent: 1 RRU per 4 KB) and the allowlist entry (0.5);
    // the poll reads no history.
    let rru_per_poll = (state_item as f64 / 4096.0).ceil() + 0.5;
    let api = POLLS_PER_HOUR * HTTP_API_PER_MILLION / 1e6;
    let dynamo = POLLS_PER_HOUR * rru_per_poll * DYNAMO_READ_PER_MILLION_RRU / 1e6;
    println!("\nOne hour of one open dashboard (720 polls; a hidden tab polls nothing):\n");
    println!("| billed a poll | Lambda (arm64, 256 MB) | HTTP API | DynamoDB reads ({rru_per_poll} RRU a poll: ~{state_item}-byte item) | total per hour (USD) |");
    println!("|---|---:|---:|---:|---:|");
    for (label, billed_ms) in [
        ("moto's measured p50 (upper bound)", ms(m.p50).ceil()),
        (
            "SQLite-measured work + 30 ms of DynamoDB and Discord",
            (ms(local.p50) + 30.0).ceil(),
        ),
    ] {
        let lambda = POLLS_PER_HOUR
            * (LAMBDA_PER_MILLION / 1e6
                + billed_ms / 1000.0 * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_S);
        println!(
            "| {label}: {billed_ms} ms | {lambda:.6} | {api:.6} | {dynamo:.6} | {:.6} |",
            lambda + api + dynamo
        );
    }
    println!(
        "\nWire per hour: {:.1} MB of polls (gzip), plus {assets_gzip} bytes of assets once.",
        POLLS_PER_HOUR * m.gzip as f64 / 1e6
    );
}

/// A full queue: one playing track and 499 to come (the cap is 500), titles and artists of
/// a usual length. Returns about the guild item's size: what each poll's read costs.
async fn fill_queue(b: &StoreUnderTest) -> usize {
    let g = GuildId::new(GUILD).unwrap();
    let user = UserId::new(USER).unwrap();
    let track = |i: usize| {
        let key = TrackKey::new(Platform::Youtube, &format!("vid{i:08}")).unwrap();
        Track::new(
            key,
            &format!("A song of a usual length, number {i}"),
            &format!("https://www.youtube.com/watch?v=vid{i:08}"),
            user,
        )
        .unwrap()
        .with_artist("An Artist With A Name")
        .with_duration_ms(215_000)
    };
    let updated = update_guild(
        b.store.as_ref(),
        b.clock.as_ref(),
        RetryPolicy::default(),
        g,
        |s| {
            s.queue.add(track(0), Position::End)?;
            s.queue.start(T0_MS);
            for i in 1..QUEUE_CAP {
                s.queue.add(track(i), Position::End)?;
            }
            Ok::<_, StoreError>(())
        },
    )
    .await
    .unwrap();
    // The cap counts the playing track.
    assert_eq!(updated.record.queue.upcoming().len() + 1, QUEUE_CAP);
    // The tracks are nearly all of the item; the rest is a few small attributes.
    serde_json::to_vec(updated.record.queue.upcoming())
        .unwrap()
        .len()
}
