//! The dashboard in a real browser: `timmybot serve --listen` with the dashboard on, the fake
//! Discord (gateway, REST with OAuth2, TLS voice), and Chromium driven by Playwright
//! (`tests/browser/dashboard.mjs`). Four tones are queued with `/play` in Discord; the
//! browser logs in, sees them, skips (the voice server then hears the second tone), adds a
//! track, reorders the queue, and, as the owner, approves a pending request. Screenshots of
//! the main pages land in `<target>/test-artifacts/dashboard/`.

use std::process::Stdio;

use crate::support::{free_port, now_ms, serve, Running};
use std::sync::Arc;
use std::time::Duration;

use timmybot_domain::{AccessRequest, AllowEntry, GuildId, SystemClock, UserId};
use timmybot_fake_discord::audio::{dominant_frequency, wav_tone};
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions::{self as di, slash};
use timmybot_fake_discord::FakeDiscord;
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::{AccessStore, AllowlistStore, GuildStore};
use timmybot_tests::browser;

const GUILD: u64 = 1_810_000_000_000_000_001;
const TEXT: u64 = 1_810_000_000_000_000_010;
const VOICE: u64 = 1_810_000_000_000_000_020;
const ASKING_GUILD: u64 = 1_810_000_000_000_000_002;
const MEMBER: u64 = 1_810_000_000_000_000_100;
const OWNER: u64 = 1_810_000_000_000_000_101;
const WAIT: Duration = Duration::from_secs(30);

/// The tones, by title: each its own frequency, long enough to still play when checked.
const TONES: [(&str, f32); 5] = [
    ("one", 440.0),
    ("two", 660.0),
    ("three", 880.0),
    ("four", 550.0),
    ("five", 330.0),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_chromium_logs_in_plays_reorders_and_approves() {
    browser::check_installed();
    let dir = tempfile::tempdir().unwrap();
    for (name, hz) in TONES {
        std::fs::write(
            dir.path().join(format!("{name}.wav")),
            wav_tone(hz, 90.0, 0.4),
        )
        .unwrap();
    }
    let db = dir.path().join("bot.db");
    {
        // The owner allowlisted the guild earlier; another server asks for access.
        let store = SqliteStore::open(&db, Arc::new(SystemClock)).await.unwrap();
        let owner = UserId::new(OWNER).unwrap();
        store
            .allow(&AllowEntry::new(
                GuildId::new(GUILD).unwrap(),
                owner,
                now_ms(),
                "home",
            ))
            .await
            .unwrap();
        let request = AccessRequest {
            guild_id: GuildId::new(ASKING_GUILD).unwrap(),
            server_name: "Movie Club".into(),
            requested_by: UserId::new(MEMBER).unwrap(),
            channel_id: None,
            use_case: "films on Fridays".into(),
            expected_listeners: 8,
            requested_at_ms: now_ms(),
        };
        assert!(store.request_access(&request).await.unwrap());
    }

    let discord = FakeDiscord::start(vec![FakeGuild {
        id: GUILD,
        name: "Home".into(),
        text_channel: TEXT,
        voice_channels: vec![VOICE],
    }])
    .await;
    discord.add_member(GUILD, "Home", MEMBER, "alice", &[]);
    discord.add_member(GUILD, "Home", OWNER, "owner", &[]);
    discord.set_voice(GUILD, MEMBER, Some(VOICE));

    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let listen = free_port();
    let public = format!("http://{listen}");
    let mut vars = discord.env();
    vars.extend(
        [
            ("STORE", format!("sqlite:{}", db.display())),
            ("MUSIC_DIR", dir.path().display().to_string()),
            ("WORKER_HEALTH_ADDR", "127.0.0.1:0".to_owned()),
            ("DISCORD_PUBLIC_KEY", di::public_key_hex()),
            ("BOT_OWNER_IDS", OWNER.to_string()),
            (
                "DISCORD_CLIENT_SECRET",
                timmybot_fake_discord::OAUTH_CLIENT_SECRET.to_owned(),
            ),
            ("PUBLIC_URL", public.clone()),
            ("DISCORD_WEB_URL", discord.rest.web_url()),
            // Every crate's info lines, for the search for secrets below.
            ("RUST_LOG", "info".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let _bot = Running(
        serve(&vars, &["--listen", &listen])
            .stdout(Stdio::null())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("start timmybot serve"),
    );
    discord.gateway.wait_ready(WAIT).await;

    // Four tones queued from Discord, the first heard.
    for (i, (name, _)) in TONES[..4].iter().enumerate() {
        let play = slash(
            1_910_000_000_000_000_000 + i as u64,
            GUILD,
            MEMBER,
            TEXT,
            "play",
            &[("query", &format!("local:{name}.wav"))],
        );
        let token = play.token.clone();
        discord.gateway.dispatch_interaction(play);
        discord
            .rest
            .fake
            .wait_reply(&token, WAIT, |r| r.edits > 0)
            .await;
    }
    hear(&discord, 440.0, "the first tone, queued in Discord").await;

    let shots = browser::screenshot_dir("dashboard");

    let out = browser::run(
        &browser::script_path("dashboard.mjs"),
        &[
            ("BASE", public.as_str()),
            ("GUILD_NAME", "Home"),
            ("MEMBER_NAME", "alice"),
            ("OWNER_NAME", "owner"),
            ("REQUEST_NAME", "Movie Club"),
            ("REQUEST_GUILD", &ASKING_GUILD.to_string()),
            ("SCREENSHOT_DIR", &shots.display().to_string()),
        ],
    )
    .await;
    let lines = browser::json_lines(&out);
    assert!(lines.iter().any(|l| l["skipped"] == true), "{out}");
    assert!(lines.iter().any(|l| l["approved"] == true), "{out}");

    // The skip pressed in the browser reached the call: the second tone plays.
    hear(
        &discord,
        660.0,
        "the second tone, after Skip in the browser",
    )
    .await;
    // What the browser changed is what the bot stored.
    let store = SqliteStore::open(&db, Arc::new(SystemClock)).await.unwrap();
    let state = store
        .load_guild(GuildId::new(GUILD).unwrap())
        .await
        .unwrap()
        .value;
    let titles: Vec<_> = state
        .queue
        .upcoming()
        .iter()
        .map(|t| t.title.as_str())
        .collect();
    assert_eq!(titles, ["four", "three", "five"]);
    assert!(store
        .is_allowed(GuildId::new(ASKING_GUILD).unwrap())
        .await
        .unwrap());
    // Nothing of the login reached the log: no client secret, token, code or state.
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("logged in to the dashboard"), "{logged}");
    for secret in [
        timmybot_fake_discord::OAUTH_CLIENT_SECRET,
        timmybot_fake_discord::TOKEN,
        "code=",
        "state=",
        "Bearer",
        "access_token",
    ] {
        assert!(!logged.contains(secret), "{secret} in the log:\n{logged}");
    }
    for shot in ["login", "servers", "guild", "guild-phone", "owner"] {
        let path = shots.join(format!("{shot}.png"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{}", path.display());
    }
}

async fn hear(discord: &FakeDiscord, hz: f32, what: &str) {
    discord
        .voice
        .wait_for(GUILD, WAIT, what, |h| {
            (dominant_frequency(&h.last_ms(200)) - hz).abs() <= 10.0
        })
        .await;
}
