//! End-to-end latency of `timmybot serve` (embedded mode: SQLite, the in-process bus),
//! the release binary against the fake Discord: a slash command over the gateway → the
//! first audio packet at the voice server. Each run is a fresh guild, so each joins voice.
//!
//! `cargo bench -p timmybot --bench serve_latency`

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use timmybot_fake_discord::audio::wav_tone;
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions::slash;
use timmybot_fake_discord::FakeDiscord;
use timmybot_tests::latency::{print_table, PlayTiming};

const RUNS: u64 = 20;
const WAIT: Duration = Duration::from_secs(30);

fn guild(n: u64) -> FakeGuild {
    FakeGuild {
        id: 1_950_000_000_000_000_000 + n,
        name: format!("Guild {n}"),
        text_channel: 1_951_000_000_000_000_000 + n,
        voice_channels: vec![1_952_000_000_000_000_000 + n],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    std::fs::write(dir.path().join("tone.wav"), wav_tone(440.0, 20.0, 0.4)).expect("a tone");
    let guilds: Vec<_> = (1..=RUNS).map(guild).collect();
    let discord = FakeDiscord::start(guilds.clone()).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_timmybot"))
        .env_clear()
        .envs(discord.env())
        .env(
            "STORE",
            format!("sqlite:{}", dir.path().join("bot.db").display()),
        )
        .env("MUSIC_DIR", dir.path())
        .env("WORKER_HEALTH_ADDR", "127.0.0.1:0")
        .args(["serve", "--allow-all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start timmybot serve");
    discord.gateway.wait_ready(WAIT).await;
    // Let start-up work (command registration, resume) finish before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut runs = Vec::new();
    for (i, g) in guilds.iter().enumerate() {
        let user = 1_960_000_000_000_000_000 + i as u64;
        discord.set_voice(g.id, user, Some(g.voice_channels[0]));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let play = slash(
            1_970_000_000_000_000_000 + i as u64,
            g.id,
            user,
            g.text_channel,
            "play",
            &[("query", "local:tone.wav")],
        );
        let sent = Instant::now();
        discord.gateway.dispatch_interaction(play);
        runs.push(PlayTiming::measure(&discord, g.id, sent, WAIT).await);
        eprint!(".");
        // One call at a time: the next run measures an otherwise idle bot.
        discord.gateway.dispatch_interaction(slash(
            1_980_000_000_000_000_000 + i as u64,
            g.id,
            user,
            g.text_channel,
            "leave",
            &[],
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!();
    let _ = child.kill();
    let _ = child.wait();
    println!("`timmybot serve` on loopback, {RUNS} runs, each a fresh guild (release build):\n");
    print_table(&runs);
}
